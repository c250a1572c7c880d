//! The commit graph: flat arrays and compressed sparse rows, built for a million commits.
//!
//! Built from commits whose parents may be missing (history fetched only in
//! part): a parent that is not in the dataset is simply not an edge. Edges point
//! from a commit to its parents, so "reachable from X" means "an ancestor of X
//! (or X itself)".
//!
//! ```text
//!   a ── b ─────── m      main: a, b, m (m merges f2)
//!         \       /
//!          f1 ── f2       feature branch
//! ```
//!
//! Here the divergence point of the branch tip `f2` against the destination `b`
//! is `f1`: the earliest commit reachable from `f2` and not from `b`.
//!
//! Batch questions share one traversal: [`Labeler`] walks tips in order and
//! labels each commit with the first tip that reaches it, visiting every commit
//! and edge at most once in total (O(V+E) for all tips together). That is how
//! the engine finds the first deployment that shipped each commit and each PR's
//! branch-only commits.

use crate::model::{Commit, Timestamp};

/// A commit's position in a [`CommitGraph`].
pub type NodeId = u32;

/// Label value meaning "not labelled yet".
pub const UNLABELLED: u32 = u32::MAX;

/// Do two shas name the same commit? Yes when they are equal ignoring ASCII
/// case, or when the shorter is an abbreviation of at least 7 characters of
/// the longer — the rule [`CommitGraph::resolve`] uses. An empty sha, or a
/// prefix shorter than 7 characters of a longer sha, matches nothing: `47000`
/// is too short to stand for a commit.
///
/// ```
/// use dora_core::graph::sha_matches;
/// let full = "4700000000000000000000000000000000000047";
/// assert!(sha_matches("470000000000", full)); // Bitbucket's 12-character form
/// assert!(sha_matches("C1", "c1")); // equal, any length
/// assert!(!sha_matches("47000", full)); // too short to abbreviate
/// assert!(!sha_matches("470000000001", full));
/// assert!(!sha_matches("", ""));
/// ```
pub fn sha_matches(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return false;
    }
    if short.len() == long.len() {
        return short.eq_ignore_ascii_case(long);
    }
    short.len() >= MIN_ABBREV
        && long.as_bytes()[..short.len()].eq_ignore_ascii_case(short.as_bytes())
}

/// A repository's commit graph.
///
/// Stored flat for speed at a million commits: every sha in one buffer, an
/// open-addressing hash index of node ids for exact lookups, node ids sorted
/// by lower-case sha (with an 8-byte prefix key per entry) for abbreviated
/// lookups, and parents in compressed sparse rows.
#[derive(Debug, Clone, Default)]
pub struct CommitGraph {
    /// All shas, concatenated; node `n` is `sha_buf[sha_end[n-1]..sha_end[n]]`.
    sha_buf: String,
    sha_end: Vec<usize>,
    /// Lower-case copy of `sha_buf`, only when some sha has upper-case letters.
    lower_buf: Option<String>,
    /// Open-addressing table of (node id, hash tag) (`UNLABELLED` = empty slot),
    /// length a power of two, at most half full.
    index: Vec<(NodeId, u32)>,
    /// Node ids sorted by (lower-case sha, node), for abbreviated-sha lookup.
    sorted: Vec<NodeId>,
    /// Directory of `sorted` by [`bucket`] of the first `dir_digits` characters:
    /// the entries of bucket `b` are `sorted[dir[b]..dir[b + 1]]`. Built and
    /// searched sequentially (no hashing), at most about one entry per bucket.
    dir: Vec<u32>,
    dir_digits: usize,
    /// The prefix key of each entry of `sorted` (see [`prefix_key`]).
    keys: Vec<u64>,
    authored: Vec<Timestamp>,
    committed: Vec<Timestamp>,
    first_parent: Vec<Option<NodeId>>,
    parent_count: Vec<u8>,
    /// Parents present in the graph: `parent_list[parent_start[n]..parent_start[n+1]]`,
    /// last declared first.
    parent_start: Vec<u32>,
    parent_list: Vec<NodeId>,
    missing_parents: usize,
}

/// Shortest abbreviated sha that [`CommitGraph::resolve`] accepts.
const MIN_ABBREV: usize = 7;

/// Slots of the table of recently listed commits used to resolve parents.
const RECENT_SLOTS: usize = 4096;

/// How far ahead in the input that table looks (newest-first listings).
const RECENT_AHEAD: usize = 1024;

/// A fast, well-mixed hash of a string (FxHash-style words, murmur finaliser).
fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    mix(h)
}

/// The first 8 bytes of `s`, big-endian, zero-padded: orders like `s` up to ties.
fn prefix_key(s: &str) -> u64 {
    prefix_key_bytes(s.as_bytes())
}

fn prefix_key_bytes(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = s.len().min(8);
    w[..n].copy_from_slice(&s[..n]);
    u64::from_be_bytes(w)
}

/// Hex digits per directory bucket for `n` commits: at least one commit per
/// bucket on average, at most 4 digits (a 256 KiB directory, which stays in cache).
fn dir_digits(n: usize) -> usize {
    let mut d = 1;
    while d < 4 && (1usize << (4 * (d + 1))) <= n {
        d += 1;
    }
    d
}

/// The directory bucket of a prefix key: its first `digits` bytes read as hex
/// digits, by a monotone map (anything below `0` is 0, between `9` and `a` is
/// 9, above `f` is 15; a missing byte is 0), so buckets follow the sort order.
fn bucket(key: u64, digits: usize) -> usize {
    let mut b = 0usize;
    for i in 0..digits {
        let c = (key >> (56 - 8 * i)) as u8;
        let nib = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ if c < b'0' => 0,
            _ if c < b'a' => 9,
            _ => 15,
        };
        b = (b << 4) | usize::from(nib);
    }
    b
}

/// The murmur3 64-bit finaliser.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl CommitGraph {
    /// Build from commits (duplicates by sha are ignored; missing parents tolerated).
    pub fn build<'a>(commits: impl IntoIterator<Item = &'a Commit>) -> Self {
        let mut pending: Vec<&'a Commit> = commits.into_iter().collect();
        let mut g = CommitGraph::default();
        let capacity = pending.len().max(8).next_power_of_two() * 2;
        let mask = capacity - 1;
        // One read of the input: every sha (duplicates too, dropped below).
        let mut hashes: Vec<u64> = Vec::with_capacity(pending.len());
        g.sha_buf.reserve(pending.iter().map(|c| c.sha.len()).sum());
        g.sha_end.reserve(pending.len());
        g.authored.reserve(pending.len());
        g.committed.reserve(pending.len());
        for c in &pending {
            hashes.push(hash_str(&c.sha));
            g.sha_buf.push_str(&c.sha);
            g.sha_end.push(g.sha_buf.len());
            g.authored.push(c.authored_at);
            g.committed.push(c.committed_at);
        }
        // Insert in order of home slot, by stable partitions of at most 2,048
        // slots (16 KiB): the random writes of a million inserts then stay in
        // cache. Duplicates share a home slot, so the first copy still wins.
        let bits = capacity.trailing_zeros();
        let part_shift = bits - bits.saturating_sub(11).min(10);
        let parts = capacity >> part_shift;
        let mut order: Vec<u32> = vec![0; pending.len()];
        {
            let mut next = vec![0usize; parts + 1];
            for &h in &hashes {
                next[((h as usize & mask) >> part_shift) + 1] += 1;
            }
            for p in 0..parts {
                next[p + 1] += next[p];
            }
            for (i, &h) in hashes.iter().enumerate() {
                let p = (h as usize & mask) >> part_shift;
                order[next[p]] = i as u32;
                next[p] += 1;
            }
        }
        // Slots hold input positions first, renumbered to node ids below.
        g.index = vec![(UNLABELLED, 0); capacity];
        let mut duplicate = vec![false; pending.len()];
        let mut duplicates = 0usize;
        for &i in &order {
            let hash = hashes[i as usize];
            let tag = (hash >> 32) as u32;
            let mut slot = hash as usize & mask;
            loop {
                let (id, t) = g.index[slot];
                if id == UNLABELLED {
                    g.index[slot] = (i, tag);
                    break;
                }
                if t == tag && g.sha(id) == g.sha(i) {
                    duplicate[i as usize] = true;
                    duplicates += 1;
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        drop(order);
        let mut node_hash: Vec<u32> = hashes.iter().map(|&h| h as u32).collect();
        drop(hashes);
        if duplicates > 0 {
            g.drop_duplicates(&duplicate);
            let mut k = 0;
            pending.retain(|_| {
                k += 1;
                !duplicate[k - 1]
            });
            let mut k = 0;
            node_hash.retain(|_| {
                k += 1;
                !duplicate[k - 1]
            });
        }
        drop(duplicate);
        let n = pending.len();
        if g.sha_buf.bytes().any(|b| b.is_ascii_uppercase()) {
            g.lower_buf = Some(g.sha_buf.to_ascii_lowercase());
        }
        // Counting sort by directory bucket (a monotone function of the first
        // characters: the directory is the bucket counts' prefix sums, small
        // enough to stay in cache), then each bucket by prefix key and sha.
        g.dir_digits = dir_digits(n);
        let buckets = 1usize << (4 * g.dir_digits);
        let keyed: Vec<(u64, NodeId)> = (0..n as NodeId)
            .map(|i| (prefix_key(g.lower(i)), i))
            .collect();
        let mut dir = vec![0u32; buckets + 1];
        for &(k, _) in &keyed {
            dir[bucket(k, g.dir_digits) + 1] += 1;
        }
        for b in 0..buckets {
            dir[b + 1] += dir[b];
        }
        let mut placed = vec![(0u64, 0 as NodeId); n];
        // `dir[b]` is bucket b's cursor; afterwards it is bucket b's end.
        for &e in &keyed {
            let b = bucket(e.0, g.dir_digits);
            placed[dir[b] as usize] = e;
            dir[b] += 1;
        }
        drop(keyed);
        dir.copy_within(0..buckets, 1);
        dir[0] = 0;
        for b in 0..buckets {
            let run = &mut placed[dir[b] as usize..dir[b + 1] as usize];
            if run.len() > 1 {
                run.sort_unstable();
                // Entries sharing a prefix key are ordered by the whole lower-case sha.
                let mut start = 0;
                while start < run.len() {
                    let mut end = start + 1;
                    while end < run.len() && run[end].0 == run[start].0 {
                        end += 1;
                    }
                    if end - start > 1 {
                        run[start..end]
                            .sort_unstable_by(|a, b| (g.lower(a.1), a.1).cmp(&(g.lower(b.1), b.1)));
                    }
                    start = end;
                }
            }
        }
        (g.keys, g.sorted) = placed.into_iter().unzip();
        g.dir = dir;

        g.first_parent = vec![None; n];
        g.parent_count = vec![0; n];
        g.parent_start = Vec::with_capacity(n + 1);
        g.parent_start.push(0);
        g.parent_list = Vec::with_capacity(n + n / 8);
        let mut found: Vec<NodeId> = Vec::new();
        // Recently listed commits (up to RECENT_AHEAD behind and ahead), by hash:
        // other parents are usually close in the input too (a merge's first
        // parent, a branch's fork point), and found here in cache.
        let mut recent = vec![UNLABELLED; RECENT_SLOTS];
        let remember = |recent: &mut Vec<NodeId>, j: usize| {
            if j < n {
                recent[node_hash[j] as usize & (RECENT_SLOTS - 1)] = j as NodeId;
            }
        };
        for j in 0..RECENT_AHEAD {
            remember(&mut recent, j);
        }
        for (i, c) in pending.iter().enumerate() {
            remember(&mut recent, i + RECENT_AHEAD);
            remember(&mut recent, i);
            found.clear();
            for (k, p) in c.parents.iter().enumerate() {
                // Parents are usually a neighbour in the input (oldest-first or
                // newest-first listings): an exact match there is the exact lookup.
                let near = [i.wrapping_sub(1), i + 1]
                    .into_iter()
                    .find(|&j| j < n && g.sha(j as NodeId) == p.as_str())
                    .map(|j| j as NodeId);
                let near = near.or_else(|| {
                    let hash = hash_str(p);
                    let j = recent[hash as usize & (RECENT_SLOTS - 1)];
                    if j != UNLABELLED
                        && node_hash[j as usize] == hash as u32
                        && g.sha(j) == p.as_str()
                    {
                        Some(j)
                    } else {
                        g.find_slot(p, hash).ok()
                    }
                });
                match near.or_else(|| g.lookup(p)) {
                    Some(pid) => {
                        found.push(pid);
                        if k == 0 {
                            g.first_parent[i] = Some(pid);
                        }
                    }
                    None => g.missing_parents += 1,
                }
            }
            g.parent_list.extend(found.iter().rev());
            g.parent_start.push(g.parent_list.len() as u32);
            g.parent_count[i] = c.parents.len().min(255) as u8;
        }
        g
    }

    /// Remove the input positions flagged `duplicate` from the per-node arrays
    /// and renumber the index's input positions to node ids.
    fn drop_duplicates(&mut self, duplicate: &[bool]) {
        let mut node_of = vec![UNLABELLED; duplicate.len()];
        let (mut buf, mut end) = (String::new(), Vec::new());
        let (mut authored, mut committed) = (Vec::new(), Vec::new());
        for (i, &dup) in duplicate.iter().enumerate() {
            if dup {
                continue;
            }
            node_of[i] = end.len() as NodeId;
            buf.push_str(self.sha(i as NodeId));
            end.push(buf.len());
            authored.push(self.authored[i]);
            committed.push(self.committed[i]);
        }
        (self.sha_buf, self.sha_end) = (buf, end);
        (self.authored, self.committed) = (authored, committed);
        for slot in &mut self.index {
            if slot.0 != UNLABELLED {
                slot.0 = node_of[slot.0 as usize];
            }
        }
    }

    /// `Ok(node)` when `sha` (whose hash is `hash`) is in the index, else `Err(free slot)`.
    fn find_slot(&self, sha: &str, hash: u64) -> Result<NodeId, usize> {
        if self.index.is_empty() {
            return Err(0);
        }
        let mask = self.index.len() - 1;
        let tag = (hash >> 32) as u32;
        let mut slot = hash as usize & mask;
        loop {
            let (id, t) = self.index[slot];
            if id == UNLABELLED {
                return Err(slot);
            }
            if t == tag && self.sha(id) == sha {
                return Ok(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The entries of `sorted` whose lower-case sha may start with `lower`
    /// (at least [`MIN_ABBREV`] > `dir_digits` bytes): its directory bucket.
    fn bucket_of(&self, lower: &str) -> Option<&[NodeId]> {
        if self.dir.is_empty() {
            return None;
        }
        let key = prefix_key(lower);
        let b = bucket(key, self.dir_digits);
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        // Within the bucket, only entries sharing the first MIN_ABBREV bytes
        // can match: narrow by prefix key without touching the shas.
        let head = key >> 8;
        let keys = &self.keys[lo..hi];
        let a = keys.partition_point(|&k| k >> 8 < head);
        let z = a + keys[a..].partition_point(|&k| k >> 8 == head);
        Some(&self.sorted[lo + a..lo + z])
    }

    /// The exact (case-sensitive, untrimmed) sha lookup.
    fn exact(&self, sha: &str) -> Option<NodeId> {
        self.find_slot(sha, hash_str(sha)).ok()
    }

    /// The lower-case sha of a node.
    fn lower(&self, n: NodeId) -> &str {
        let (a, b) = self.span(n);
        match &self.lower_buf {
            Some(l) => &l[a..b],
            None => &self.sha_buf[a..b],
        }
    }

    fn span(&self, n: NodeId) -> (usize, usize) {
        let n = n as usize;
        let start = if n == 0 { 0 } else { self.sha_end[n - 1] };
        (start, self.sha_end[n])
    }

    fn lookup(&self, sha: &str) -> Option<NodeId> {
        self.resolve(sha)
    }

    /// Number of commits.
    pub fn len(&self) -> usize {
        self.sha_end.len()
    }

    /// No commits?
    pub fn is_empty(&self) -> bool {
        self.sha_end.is_empty()
    }

    /// Parent references that point outside the fetched history.
    pub fn missing_parents(&self) -> usize {
        self.missing_parents
    }

    /// Resolve a full or abbreviated sha (at least 7 characters, unique prefix).
    pub fn resolve(&self, sha: &str) -> Option<NodeId> {
        if let Some(n) = self.exact(sha) {
            return Some(n);
        }
        let sha = sha.trim();
        if sha.len() < MIN_ABBREV {
            return None;
        }
        let lower = sha.to_ascii_lowercase();
        // Every match shares the query's first bytes: search their bucket only.
        let run = self.bucket_of(&lower)?;
        let start = run.partition_point(|&n| self.lower(n) < lower.as_str());
        let mut hits = run[start..]
            .iter()
            .take_while(|&&n| self.lower(n).starts_with(&lower));
        let first = *hits.next()?;
        if hits.next().is_some() {
            return None; // ambiguous
        }
        Some(first)
    }

    /// [`resolve`](Self::resolve), first trying an exact match with the nodes
    /// next to `near` (a sha listed after `near`'s is often its neighbour).
    pub(crate) fn resolve_near(&self, sha: &str, near: Option<NodeId>) -> Option<NodeId> {
        if let Some(m) = near {
            let m = m as usize;
            // An exact match is unique (duplicates are dropped), as `resolve` finds it.
            if let Some(j) = [m.wrapping_sub(1), m + 1, m]
                .into_iter()
                .find(|&j| j < self.len() && self.sha(j as NodeId) == sha)
            {
                return Some(j as NodeId);
            }
        }
        self.resolve(sha)
    }

    /// The sha of a node.
    pub fn sha(&self, n: NodeId) -> &str {
        let (a, b) = self.span(n);
        &self.sha_buf[a..b]
    }

    /// Author time of a node.
    pub fn authored_at(&self, n: NodeId) -> Timestamp {
        self.authored[n as usize]
    }

    /// Committer time of a node.
    pub fn committed_at(&self, n: NodeId) -> Timestamp {
        self.committed[n as usize]
    }

    /// First parent, when it is in the graph.
    pub fn first_parent(&self, n: NodeId) -> Option<NodeId> {
        self.first_parent[n as usize]
    }

    /// Number of parents the commit declares (including missing ones).
    pub fn parent_count(&self, n: NodeId) -> usize {
        usize::from(self.parent_count[n as usize])
    }

    /// The graph as a petgraph `DiGraph` (node weights are this graph's
    /// [`NodeId`]s, edges point from a commit to its parents), for algorithms
    /// beyond the engine's own walks. The engine itself walks flat arrays,
    /// which at a million commits is several times faster than petgraph's
    /// adjacency lists.
    #[cfg(feature = "petgraph")]
    pub fn to_petgraph(&self) -> petgraph::graph::DiGraph<NodeId, (), u32> {
        let mut g = petgraph::graph::DiGraph::with_capacity(self.len(), self.parent_list.len());
        for n in 0..self.len() as NodeId {
            g.add_node(n);
        }
        for n in 0..self.len() as NodeId {
            for p in self.parents(n) {
                g.add_edge(
                    petgraph::graph::NodeIndex::new(n as usize),
                    petgraph::graph::NodeIndex::new(p as usize),
                    (),
                );
            }
        }
        g
    }

    /// Parents present in the graph (the last declared first).
    pub fn parents(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let n = n as usize;
        let (a, b) = (
            self.parent_start[n] as usize,
            self.parent_start[n + 1] as usize,
        );
        self.parent_list[a..b].iter().copied()
    }

    /// Is `ancestor` reachable from `descendant` (a node is its own ancestor)?
    pub fn is_ancestor(&self, ancestor: NodeId, descendant: NodeId) -> bool {
        if ancestor == descendant {
            return true;
        }
        let mut seen = vec![false; self.len()];
        let mut stack = vec![descendant];
        seen[descendant as usize] = true;
        while let Some(n) = stack.pop() {
            for p in self.parents(n) {
                if p == ancestor {
                    return true;
                }
                if !seen[p as usize] {
                    seen[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        false
    }

    /// Is `ancestor` a strict ancestor of `descendant`?
    pub fn is_strict_ancestor(&self, ancestor: NodeId, descendant: NodeId) -> bool {
        ancestor != descendant && self.is_ancestor(ancestor, descendant)
    }

    /// Commits reachable from `tip` and not from `destination`.
    pub fn branch_only(&self, tip: NodeId, destination: Option<NodeId>) -> Vec<NodeId> {
        let mut labeler = Labeler::new(self);
        if let Some(d) = destination {
            labeler.mark(d, 0, |_| {});
        }
        let mut out = Vec::new();
        labeler.mark(tip, 1, |n| out.push(n));
        out
    }

    /// The divergence point of a branch: its earliest-dated (author time) commit
    /// not reachable from the destination. `None` when every commit of the branch
    /// is already in the destination.
    pub fn divergence_point(&self, tip: NodeId, destination: Option<NodeId>) -> Option<NodeId> {
        self.branch_only(tip, destination)
            .into_iter()
            .min_by_key(|&n| (self.authored_at(n), self.sha(n).to_string()))
    }
}

/// Labels commits with the first of a sequence of tips that reaches them,
/// sharing one traversal across all tips (each node and edge visited once).
#[derive(Debug)]
pub struct Labeler<'g> {
    graph: &'g CommitGraph,
    labels: Vec<u32>,
    stack: Vec<NodeId>,
}

impl<'g> Labeler<'g> {
    /// A labeler with every commit unlabelled.
    pub fn new(graph: &'g CommitGraph) -> Self {
        Self {
            graph,
            labels: vec![UNLABELLED; graph.len()],
            stack: Vec::new(),
        }
    }

    /// Label every not-yet-labelled commit reachable from `tip` with `label`,
    /// calling `on_new` for each; the walk stops at labelled commits.
    pub fn mark(&mut self, tip: NodeId, label: u32, mut on_new: impl FnMut(NodeId)) {
        if self.labels[tip as usize] != UNLABELLED {
            return;
        }
        self.labels[tip as usize] = label;
        on_new(tip);
        self.stack.push(tip);
        while let Some(n) = self.stack.pop() {
            for p in self.graph.parents(n) {
                if self.labels[p as usize] == UNLABELLED {
                    self.labels[p as usize] = label;
                    on_new(p);
                    self.stack.push(p);
                }
            }
        }
    }

    /// The label of a commit (`UNLABELLED` when none).
    pub fn label(&self, n: NodeId) -> u32 {
        self.labels[n as usize]
    }

    /// All labels, indexed by node.
    pub fn into_labels(self) -> Vec<u32> {
        self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_matches_follows_resolve() {
        let full = "0123456789abcdef0123456789abcdef01234567";
        // Equal shas match at any length and case; the engine's tests use short ones.
        assert!(sha_matches("c1", "c1"));
        assert!(sha_matches("C1", "c1"));
        assert!(sha_matches(full, &full.to_ascii_uppercase()));
        // Abbreviations of 7 characters or more match, either way round.
        assert!(sha_matches("0123456", full));
        assert!(sha_matches(full, "0123456789AB"));
        // A shorter prefix, a different sha or an empty one does not.
        assert!(!sha_matches("012345", full));
        assert!(!sha_matches("c", "c1"));
        assert!(!sha_matches("0123457", full));
        assert!(!sha_matches("", full));
        assert!(!sha_matches("", ""));
        // The same answer as resolving both in a graph holding the full sha.
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let g = CommitGraph::build(&[Commit::new("r", full, vec![], t, "m")]);
        for query in ["0123456", "012345", "0123456789AB", "0123457", full] {
            assert_eq!(
                sha_matches(query, full),
                g.resolve(query).is_some(),
                "{query}"
            );
        }
    }
    use chrono::{TimeZone, Utc};

    fn c(sha: &str, parents: &[&str], hour: u32) -> Commit {
        Commit::new(
            "r",
            sha,
            parents.iter().map(|s| s.to_string()).collect(),
            Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap(),
            "",
        )
    }

    fn sample() -> CommitGraph {
        // a - b ------ m
        //      \      /
        //       f1 - f2
        let commits = vec![
            c("aaaaaaa1", &[], 1),
            c("bbbbbbb2", &["aaaaaaa1"], 2),
            c("fff00001", &["bbbbbbb2"], 3),
            c("fff00002", &["fff00001"], 4),
            c("mmmmmmm3", &["bbbbbbb2", "fff00002"], 5),
        ];
        CommitGraph::build(&commits)
    }

    #[cfg(feature = "petgraph")]
    #[test]
    fn petgraph_view_matches() {
        let g = sample();
        let pg = g.to_petgraph();
        assert_eq!(pg.node_count(), 5);
        assert_eq!(pg.edge_count(), 5);
        let m = g.resolve("mmmmmmm3").unwrap();
        assert!(petgraph::algo::has_path_connecting(
            &pg,
            m.into(),
            g.resolve("aaaaaaa1").unwrap().into(),
            None
        ));
        assert!(petgraph::algo::toposort(&pg, None).is_ok());
    }

    #[test]
    fn ancestry_and_divergence() {
        let g = sample();
        let id = |s: &str| g.resolve(s).unwrap();
        assert!(g.is_ancestor(id("aaaaaaa1"), id("mmmmmmm3")));
        assert!(!g.is_ancestor(id("mmmmmmm3"), id("aaaaaaa1")));
        assert!(!g.is_strict_ancestor(id("bbbbbbb2"), id("bbbbbbb2")));
        assert_eq!(
            g.divergence_point(id("fff00002"), Some(id("bbbbbbb2"))),
            Some(id("fff00001"))
        );
        assert_eq!(
            g.divergence_point(id("bbbbbbb2"), Some(id("mmmmmmm3"))),
            None
        );
        assert_eq!(g.first_parent(id("mmmmmmm3")), Some(id("bbbbbbb2")));
        assert_eq!(g.parent_count(id("mmmmmmm3")), 2);
    }

    #[test]
    fn abbreviated_and_missing() {
        let commits = vec![
            c("abcdef1234", &["0000000000missing"], 1),
            c("abcdef1999", &[], 2),
        ];
        let g = CommitGraph::build(&commits);
        assert_eq!(g.missing_parents(), 1);
        assert_eq!(g.resolve("abcdef1"), None, "ambiguous prefix");
        assert_eq!(g.resolve("abcdef12"), Some(0));
        assert_eq!(g.resolve("abc"), None, "too short");
        assert_eq!(g.resolve("ABCDEF19"), Some(1));
    }

    #[test]
    fn resolve_matches_a_linear_scan() {
        // Shared 8-byte prefixes, mixed case, short and long shas, duplicates.
        let names: Vec<String> = (0..300u32)
            .map(|i| match i % 5 {
                0 => format!("deadbeef{:04x}", i),
                1 => format!("DEADBEEF{:04X}", i * 7),
                2 => format!("abc{:x}", i),
                3 => format!("{:040x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15),
                _ => format!("deadbeef{:04x}", i / 2),
            })
            .collect();
        let commits: Vec<Commit> = names.iter().map(|n| c(n, &[], 1)).collect();
        let g = CommitGraph::build(&commits);
        let mut queries: Vec<String> = names.clone();
        queries.extend(names.iter().map(|n| n.to_ascii_uppercase()));
        queries.extend(names.iter().filter_map(|n| n.get(..9).map(str::to_string)));
        queries.extend([
            "deadbeef".into(),
            "deadbeef0".into(),
            " deadbeef00a ".into(),
            "zzzzzzzz".into(),
        ]);
        for q in &queries {
            let exact = (0..g.len() as NodeId).find(|&n| g.sha(n) == q.as_str());
            let expected = exact.or_else(|| {
                let t = q.trim().to_ascii_lowercase();
                if t.len() < 7 {
                    return None;
                }
                let hits: Vec<NodeId> = (0..g.len() as NodeId)
                    .filter(|&n| g.sha(n).to_ascii_lowercase().starts_with(&t))
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            });
            assert_eq!(g.resolve(q), expected, "query {q:?}");
        }
    }

    #[test]
    fn labeler_visits_each_commit_once() {
        let g = sample();
        let mut l = Labeler::new(&g);
        let mut seen = Vec::new();
        l.mark(g.resolve("bbbbbbb2").unwrap(), 0, |n| seen.push(n));
        assert_eq!(seen.len(), 2);
        seen.clear();
        l.mark(g.resolve("mmmmmmm3").unwrap(), 1, |n| seen.push(n));
        assert_eq!(seen.len(), 3);
        assert_eq!(l.label(g.resolve("aaaaaaa1").unwrap()), 0);
        assert_eq!(l.label(g.resolve("fff00001").unwrap()), 1);
    }
}
