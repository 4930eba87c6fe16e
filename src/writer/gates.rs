//! Thread gates and post gates as the reference AppView applies them when a post is indexed
//! (`post.ts` `validateReply`/`validatePostEmbed`, `util.ts` `violatesThreadGate`,
//! `views/util.ts` `parseThreadGate`/`parsePostgate`): decided then, from what is held then,
//! and kept with the post. Pure: the planner hands in the gate and answers the rules' questions.

use chrono::{DateTime, Utc};

use crate::changes::HeldThreadGate;
use crate::records::{ThreadGate, ThreadGateRule};

/// A thread's gate: the rules (`None`: anyone may reply) and the replies it hides.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Gate {
    pub rules: Option<Vec<ThreadGateRule>>,
    pub hidden: Vec<String>,
    /// When it was written (the relay's time): it judges the replies made from then on, in
    /// whichever order the writers of the gate and of a reply commit.
    pub since: DateTime<Utc>,
}

impl Gate {
    pub fn of_record(g: &ThreadGate, since: DateTime<Utc>) -> Gate {
        Gate {
            rules: g.allow.clone(),
            hidden: g.hidden_replies.clone(),
            since,
        }
    }

    /// From the row: the rules as the record stated them, in lex-JSON.
    pub fn of_held(h: &HeldThreadGate) -> Gate {
        let rules = h.allow.as_ref().map(|allow| {
            allow
                .as_array()
                .map(|rules| rules.iter().map(rule_of_json).collect())
                .unwrap_or_default()
        });
        Gate {
            rules,
            hidden: h.hidden_replies.clone(),
            since: h.indexed_at,
        }
    }
}

fn rule_of_json(v: &serde_json::Value) -> ThreadGateRule {
    let kind = v.get("$type").and_then(|t| t.as_str()).unwrap_or_default();
    match kind {
        "app.bsky.feed.threadgate#mentionRule" => ThreadGateRule::Mention,
        "app.bsky.feed.threadgate#followerRule" => ThreadGateRule::Follower,
        "app.bsky.feed.threadgate#followingRule" => ThreadGateRule::Following,
        "app.bsky.feed.threadgate#listRule" => match v.get("list").and_then(|l| l.as_str()) {
            Some(list) => ThreadGateRule::List {
                list: list.to_owned(),
            },
            None => ThreadGateRule::Unknown(kind.to_owned()),
        },
        other => ThreadGateRule::Unknown(other.to_owned()),
    }
}

/// Whether `gate` lets `replier` reply in `owner`'s thread: the owner always may, anyone may
/// when there are no rules, otherwise anyone a rule admits (`ask` answers a rule; a rule we do
/// not know admits no one, as the reference ignores it).
pub(super) fn allows(
    gate: Option<&Gate>,
    replier: &str,
    owner: &str,
    ask: impl Fn(&ThreadGateRule) -> bool,
) -> bool {
    if replier == owner {
        return true;
    }
    match gate.and_then(|g| g.rules.as_ref()) {
        None => true,
        Some(rules) => rules.iter().any(ask),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_from_the_row_read_as_the_record_states_them() {
        let held = HeldThreadGate {
            allow: Some(serde_json::json!([
                {"$type": "app.bsky.feed.threadgate#mentionRule"},
                {"$type": "app.bsky.feed.threadgate#listRule", "list": "at://did:plc:a/app.bsky.graph.list/1"},
                {"$type": "com.example#other"},
            ])),
            hidden_replies: vec![],
            indexed_at: DateTime::UNIX_EPOCH,
        };
        let g = Gate::of_held(&held);
        assert_eq!(
            g.rules,
            Some(vec![
                ThreadGateRule::Mention,
                ThreadGateRule::List {
                    list: "at://did:plc:a/app.bsky.graph.list/1".into()
                },
                ThreadGateRule::Unknown("com.example#other".into()),
            ])
        );
        // No field: anyone; an empty list: no one but the owner.
        let anyone = Gate::of_held(&HeldThreadGate {
            allow: None,
            hidden_replies: vec![],
            indexed_at: DateTime::UNIX_EPOCH,
        });
        assert!(allows(Some(&anyone), "did:plc:b", "did:plc:a", |_| false));
        let no_one = Gate::of_held(&HeldThreadGate {
            allow: Some(serde_json::json!([])),
            hidden_replies: vec![],
            indexed_at: DateTime::UNIX_EPOCH,
        });
        assert!(!allows(Some(&no_one), "did:plc:b", "did:plc:a", |_| true));
        assert!(allows(Some(&no_one), "did:plc:a", "did:plc:a", |_| false));
        assert!(allows(None, "did:plc:b", "did:plc:a", |_| false));
    }
}
