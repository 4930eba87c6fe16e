#!/usr/bin/env node
'use strict'
// Writes, through a real PDS's XRPC API, one or more records of every collection
// src/records/ types that the pds-capture driver does not write (labeler service, actor status,
// notification and chat declarations) or writes only in one shape (threadgates with every allow
// rule and hidden replies, postgates with detached quotes, lists with facets and avatars, starter
// packs with feeds, profiles that joined through a starter pack), plus updates and deletes.
//   node scripts/records-extras.js --pds-url http://127.0.0.1:4583
// Plain fetch, no dependencies. Run by scripts/make-records-fixture.sh after the driver.

const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const PDS = arg('pds-url', 'http://127.0.0.1:4583')

async function call(method, nsid, body, auth, contentType = 'application/json') {
  const headers = auth ? { authorization: `Bearer ${auth}` } : {}
  let init = { method, headers }
  if (method === 'POST') {
    headers['content-type'] = contentType
    init.body = contentType === 'application/json' ? JSON.stringify(body) : body
  }
  const url = new URL(`/xrpc/${nsid}`, PDS)
  if (method === 'GET') for (const [k, v] of Object.entries(body || {})) url.searchParams.set(k, v)
  const res = await fetch(url, init)
  const text = await res.text()
  if (!res.ok) throw new Error(`${nsid}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : {}
}

async function account(name) {
  const handle = `${name}.test`
  const s = await call('POST', 'com.atproto.server.createAccount', {
    handle, email: `${name}@example.com`, password: `${name}-password`,
  })
  return { did: s.did, handle, jwt: s.accessJwt }
}

const now = (() => {
  // Distinct, increasing, fixed-format times keep the records readable in the fixture.
  let t = Date.parse('2026-11-30T12:00:00.000Z')
  return () => new Date((t += 1000)).toISOString()
})()

async function put(who, collection, rkey, record) {
  return call('POST', 'com.atproto.repo.putRecord', {
    repo: who.did, collection, rkey, record: { $type: collection, ...record },
  }, who.jwt)
}
async function create(who, collection, record) {
  return call('POST', 'com.atproto.repo.createRecord', {
    repo: who.did, collection, record: { $type: collection, ...record },
  }, who.jwt)
}
async function del(who, uri) {
  const [, , , collection, rkey] = uri.split('/')
  return call('POST', 'com.atproto.repo.deleteRecord', { repo: who.did, collection, rkey }, who.jwt)
}
const rkeyOf = (uri) => uri.split('/').pop()
const ref = (r) => ({ uri: r.uri, cid: r.cid })
async function blob(who) {
  const r = await call('POST', 'com.atproto.repo.uploadBlob', PNG_1X1, who.jwt, 'image/png')
  return r.blob
}

async function main() {
  const a = await account('rec-alice')
  const b = await account('rec-bob')
  const c = await account('rec-carol')
  const mention = (text, who) => {
    const start = Buffer.byteLength(text)
    const full = `${text}@${who.handle}`
    return { text: full, facets: [{ index: { byteStart: start, byteEnd: Buffer.byteLength(full) }, features: [{ $type: 'app.bsky.richtext.facet#mention', did: who.did }] }] }
  }

  // Lists of each purpose, one with facets, avatar and self-labels; members; a list block.
  const d = mention('Curated by ', a)
  const curate = await create(a, 'app.bsky.graph.list', {
    name: 'Friends ✨', purpose: 'app.bsky.graph.defs#curatelist', description: d.text,
    descriptionFacets: d.facets, avatar: await blob(a),
    labels: { $type: 'com.atproto.label.defs#selfLabels', values: [{ val: 'bot' }] }, createdAt: now(),
  })
  const reference = await create(a, 'app.bsky.graph.list', {
    name: 'Starter people', purpose: 'app.bsky.graph.defs#referencelist', createdAt: now(),
  })
  const mod = await create(c, 'app.bsky.graph.list', {
    name: 'Spam', purpose: 'app.bsky.graph.defs#modlist', description: 'accounts that spam', createdAt: now(),
  })
  const item = await create(a, 'app.bsky.graph.listitem', { subject: b.did, list: curate.uri, createdAt: now() })
  await create(a, 'app.bsky.graph.listitem', { subject: c.did, list: curate.uri, createdAt: now() })
  await create(a, 'app.bsky.graph.listitem', { subject: b.did, list: reference.uri, createdAt: now() })
  await create(c, 'app.bsky.graph.listitem', { subject: b.did, list: mod.uri, createdAt: now() })
  await create(a, 'app.bsky.graph.listblock', { subject: mod.uri, createdAt: now() })
  await put(a, 'app.bsky.graph.list', rkeyOf(curate.uri), {
    name: 'Friends ✨ (renamed)', purpose: 'app.bsky.graph.defs#curatelist', description: 'renamed', createdAt: now(),
  })
  await del(a, item.uri)

  // A thread gated by every rule, with a hidden reply; a thread nobody may reply to.
  const root = await create(a, 'app.bsky.feed.post', { text: 'gated thread', createdAt: now() })
  const reply = await create(b, 'app.bsky.feed.post', {
    text: 'a reply to hide', reply: { root: ref(root), parent: ref(root) }, createdAt: now(),
  })
  await put(a, 'app.bsky.feed.threadgate', rkeyOf(root.uri), {
    post: root.uri,
    allow: [
      { $type: 'app.bsky.feed.threadgate#mentionRule' },
      { $type: 'app.bsky.feed.threadgate#followerRule' },
      { $type: 'app.bsky.feed.threadgate#followingRule' },
      { $type: 'app.bsky.feed.threadgate#listRule', list: curate.uri },
    ],
    hiddenReplies: [reply.uri],
    createdAt: now(),
  })
  const closed = await create(a, 'app.bsky.feed.post', { text: 'nobody may reply', createdAt: now() })
  const closedGate = await put(a, 'app.bsky.feed.threadgate', rkeyOf(closed.uri), { post: closed.uri, allow: [], createdAt: now() })
  await put(a, 'app.bsky.feed.threadgate', rkeyOf(closed.uri), { post: closed.uri, createdAt: now() })

  // A post quoted by b, then detached and no longer embeddable.
  const quoted = await create(a, 'app.bsky.feed.post', { text: 'quote me', createdAt: now() })
  const quote = await create(b, 'app.bsky.feed.post', {
    text: 'quoting', embed: { $type: 'app.bsky.embed.record', record: ref(quoted) }, createdAt: now(),
  })
  await put(a, 'app.bsky.feed.postgate', rkeyOf(quoted.uri), {
    post: quoted.uri, detachedEmbeddingUris: [quote.uri],
    embeddingRules: [{ $type: 'app.bsky.feed.postgate#disableRule' }], createdAt: now(),
  })
  const open = await create(a, 'app.bsky.feed.post', { text: 'detach only', createdAt: now() })
  const gate = await put(a, 'app.bsky.feed.postgate', rkeyOf(open.uri), { post: open.uri, detachedEmbeddingUris: [], createdAt: now() })
  await del(a, gate.uri)

  // A feed generator with every field, one with only the required ones.
  const g = mention('Videos picked by ', a)
  const feed = await put(a, 'app.bsky.feed.generator', 'videos', {
    did: 'did:web:feed.example.com', displayName: 'Videos 🎬', description: g.text,
    descriptionFacets: g.facets, avatar: await blob(a), acceptsInteractions: true,
    contentMode: 'app.bsky.feed.defs#contentModeVideo',
    labels: { $type: 'com.atproto.label.defs#selfLabels', values: [{ val: 'nudity' }] }, createdAt: now(),
  })
  const plain = await put(b, 'app.bsky.feed.generator', 'plain', {
    did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', displayName: 'Plain', createdAt: now(),
  })

  // A starter pack with feeds, and a profile that joined through it.
  const s = mention('Start here, says ', a)
  const pack = await create(a, 'app.bsky.graph.starterpack', {
    name: 'Start here', description: s.text, descriptionFacets: s.facets, list: reference.uri,
    feeds: [{ uri: feed.uri }, { uri: plain.uri }], createdAt: now(),
  })
  await put(c, 'app.bsky.actor.profile', 'self', {
    displayName: 'Carol', joinedViaStarterPack: ref(pack), createdAt: now(),
  })

  // Verifications, one later withdrawn.
  await create(a, 'app.bsky.graph.verification', { subject: b.did, handle: b.handle, displayName: 'Bob', createdAt: now() })
  const v = await create(a, 'app.bsky.graph.verification', { subject: c.did, handle: c.handle, displayName: 'Carol', createdAt: now() })
  await del(a, v.uri)

  // A labeler service with its policies.
  await put(c, 'app.bsky.labeler.service', 'self', {
    policies: {
      labelValues: ['!hide', 'spam-link', 'porn'],
      labelValueDefinitions: [{
        identifier: 'spam-link', severity: 'alert', blurs: 'content', defaultSetting: 'hide', adultOnly: false,
        locales: [{ lang: 'en', name: 'Spam link', description: 'Links to spam' }, { lang: 'pt-BR', name: 'Link de spam', description: 'Links para spam' }],
      }],
    },
    reasonTypes: ['com.atproto.moderation.defs#reasonSpam'],
    subjectTypes: ['account', 'record'],
    subjectCollections: ['app.bsky.feed.post'],
    createdAt: now(),
  })

  // Status and declarations (record key `self`).
  await put(a, 'app.bsky.actor.status', 'self', {
    status: 'app.bsky.actor.status#live', durationMinutes: 30,
    embed: { $type: 'app.bsky.embed.external', external: { uri: 'https://example.com/live', title: 'Live now', description: 'streaming' } },
    createdAt: now(),
  })
  await put(b, 'app.bsky.actor.status', 'self', { status: 'app.bsky.actor.status#live', createdAt: now() })
  await put(a, 'app.bsky.notification.declaration', 'self', { allowSubscriptions: 'mutuals' })
  await put(b, 'app.bsky.notification.declaration', 'self', { allowSubscriptions: 'none' })
  await put(a, 'chat.bsky.actor.declaration', 'self', { allowIncoming: 'following', allowGroupInvites: 'all' })
  await put(b, 'chat.bsky.actor.declaration', 'self', { allowIncoming: 'none' })
  await put(b, 'chat.bsky.actor.declaration', 'self', { allowIncoming: 'all' })

  console.log(JSON.stringify({ accounts: [a.did, b.did, c.did], closedGate: closedGate.uri }))
}
main().catch((e) => { console.error(e); process.exit(1) })
