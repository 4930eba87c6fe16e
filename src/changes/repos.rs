//! A repository's sync state (atproto sync spec, "Record-Level Synchronization"), as the owning
//! writer reads and moves it.

/// Where a repo stands between the live stream and its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepoState {
    /// To fetch: live events are dropped (the snapshot will hold them).
    Desynchronized,
    /// A fetch is under way: live events are buffered durably.
    Resyncing,
    /// Live events apply when they chain to what we hold.
    Synchronized,
    /// The last fetch failed: like `Desynchronized` until its retry is due.
    Error,
}

impl RepoState {
    pub fn as_str(self) -> &'static str {
        match self {
            RepoState::Desynchronized => "desynchronized",
            RepoState::Resyncing => "resyncing",
            RepoState::Synchronized => "synchronized",
            RepoState::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<RepoState> {
        Some(match s {
            "desynchronized" => RepoState::Desynchronized,
            "resyncing" => RepoState::Resyncing,
            "synchronized" => RepoState::Synchronized,
            "error" => RepoState::Error,
            _ => return None,
        })
    }

    pub const ALL: [RepoState; 4] = [
        RepoState::Desynchronized,
        RepoState::Resyncing,
        RepoState::Synchronized,
        RepoState::Error,
    ];
}

/// The hosting status a relay or PDS gives an account (`#account`, getRepo's errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hosting {
    Active,
    Takendown,
    Suspended,
    Deactivated,
    Deleted,
}

impl Hosting {
    pub fn as_str(self) -> &'static str {
        match self {
            Hosting::Active => "active",
            Hosting::Takendown => "takendown",
            Hosting::Suspended => "suspended",
            Hosting::Deactivated => "deactivated",
            Hosting::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Hosting> {
        Some(match s {
            "active" => Hosting::Active,
            "takendown" => Hosting::Takendown,
            "suspended" => Hosting::Suspended,
            "deactivated" => Hosting::Deactivated,
            "deleted" => Hosting::Deleted,
            _ => return None,
        })
    }

    /// Whether the PDS refuses to serve the repo in this status.
    pub fn refuses_fetch(self) -> bool {
        !matches!(self, Hosting::Active)
    }
}

/// What the writer knows of one repo before it triages the repo's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoStatus {
    /// `None`: no row yet (never seen with backfill on).
    pub state: Option<RepoState>,
    pub hosting: Hosting,
    /// The last rev applied (`users.rev`).
    pub rev: Option<String>,
    /// The MST root after it (`users.data_cid`), when known.
    pub data: Option<String>,
    /// The account is deleted (`users.status`): nothing of it is fetched or applied.
    pub deleted: bool,
}

/// A repo as the relay lists it (`com.atproto.sync.listRepos`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRepo {
    pub did: String,
    pub rev: Option<String>,
    pub active: bool,
    pub hosting: Option<Hosting>,
    /// The handle its DID document gives now, when the enumeration resolved it (after the
    /// stream lost events: a missed `#identity` leaves no trace in the repo).
    pub handle: Option<String>,
}
