//! The read cache of the SQLite store: recently read users by id, so a
//! point read is a map lookup instead of a SQLite read transaction (two
//! file locks, two b-tree searches and a row decode).
//!
//! Users are kept protobuf-encoded (a quarter of the memory of the
//! decoded struct) and decoded on each hit.
//!
//! Bounded: two generations of at most `generation_size` entries and
//! `generation_bytes` bytes (encodings, ids and a per-entry overhead) each;
//! when the young one is full it becomes the old one and the old one is
//! dropped (a user larger than a generation is not cached), and a hit in the old generation moves the entry back to the
//! young one (an approximation of least-recently-used with O(1) work). A
//! working set of up to `generation_size` users stays cached entirely.
//!
//! Never stale. Every write of an existing user brackets its commit with
//! [`UserCache::begin_write`] and [`UserCache::end_write`]: while a write
//! is in flight the id is pinned in a map of its own (outside the
//! generations, so never evicted) and reads go to the database; afterwards
//! the committed version is installed (or nothing, when writes overlapped
//! or the user was deleted). A read that missed fills the cache only if no
//! write is in flight for the id and none began or ended since the miss
//! ([`Miss`] carries the generation it saw).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use prost::Message as _;

use crate::proto::users::v1::User;
use crate::users::store::Versioned;

/// A bounded, write-coherent map from user id to the stored user.
pub(super) struct UserCache {
    state: Mutex<State>,
    generation_size: usize,
    generation_bytes: usize,
}

/// What an entry costs besides its id and encoding: the map slot, the
/// key's and the box's headers (an estimate, on the high side).
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// A cache miss, remembering when it happened.
pub(super) struct Miss {
    generation: u64,
}

/// Writes of one id in flight: how many, and whether two ever overlapped.
struct Pin {
    count: u32,
    overlapped: bool,
}

/// A cached user: its protobuf encoding and revision.
struct Encoded {
    user: Box<[u8]>,
    revision: i64,
}

impl Encoded {
    /// What keeping this entry under `id` costs.
    fn bytes(&self, id: &str) -> usize {
        self.user.len() + id.len() + ENTRY_OVERHEAD_BYTES
    }

    fn new(stored: &Versioned) -> Self {
        Encoded {
            user: stored.user.encode_to_vec().into_boxed_slice(),
            revision: stored.revision,
        }
    }

    fn decode(&self) -> Option<Versioned> {
        let user = User::decode(&*self.user).ok()?;
        Some(Versioned {
            user,
            revision: self.revision,
        })
    }
}

#[derive(Default)]
struct State {
    young: Generation,
    old: Generation,
    /// The ids being written (never cached meanwhile); outside the
    /// generations, so they are never evicted.
    writing: HashMap<String, Pin>,
    /// Grows on every begin and end of a write.
    generation: u64,
}

/// One generation: its entries and what they cost.
#[derive(Default)]
struct Generation {
    entries: HashMap<String, Encoded>,
    bytes: usize,
}

impl Generation {
    fn get(&self, id: &str) -> Option<&Encoded> {
        self.entries.get(id)
    }

    fn contains_key(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, key: String, entry: Encoded) {
        let key_len = key.len();
        self.bytes += entry.bytes(&key);
        if let Some(replaced) = self.entries.insert(key, entry) {
            // Not reached (callers remove the id first); kept exact anyway.
            self.bytes -= replaced.user.len() + key_len + ENTRY_OVERHEAD_BYTES;
        }
    }

    fn remove_entry(&mut self, id: &str) -> Option<(String, Encoded)> {
        let removed = self.entries.remove_entry(id)?;
        self.bytes -= removed.1.bytes(&removed.0);
        Some(removed)
    }

    fn remove(&mut self, id: &str) {
        self.remove_entry(id);
    }
}

impl UserCache {
    /// A cache of up to twice `generation_size` users and twice
    /// `generation_bytes` bytes; 0 for either disables caching.
    pub(super) fn new(generation_size: usize, generation_bytes: usize) -> Self {
        let generation_size = if generation_bytes == 0 { 0 } else { generation_size };
        UserCache {
            state: Mutex::new(State::default()),
            generation_size,
            generation_bytes,
        }
    }

    /// The cached user with this id, or the miss to fill it with.
    pub(super) fn get(&self, id: &str) -> Result<Versioned, Miss> {
        let mut state = self.lock();
        let miss = Miss {
            generation: state.generation,
        };
        if let Some(found) = state.young.get(id) {
            return found.decode().ok_or(miss);
        }
        if let Some((key, found)) = state.old.remove_entry(id) {
            let decoded = found.decode();
            self.insert_young(&mut state, key, found);
            return decoded.ok_or(miss);
        }
        Err(miss)
    }

    /// Caches what a read found after `miss`, unless a write began or ended
    /// since (the read may then have seen an older version) or is in flight.
    pub(super) fn fill(&self, miss: Miss, found: &Versioned) {
        if self.generation_size == 0 {
            return;
        }
        let mut state = self.lock();
        let id = &found.user.id;
        if state.generation != miss.generation
            || state.writing.contains_key(id)
            || state.young.contains_key(id)
        {
            return;
        }
        state.old.remove(id);
        self.insert_young(&mut state, id.clone(), Encoded::new(found));
    }

    /// Pins `id` as being written: reads go to the database until
    /// [`UserCache::end_write`].
    pub(super) fn begin_write(&self, id: &str) {
        let mut state = self.lock();
        state.generation += 1;
        state.young.remove(id);
        state.old.remove(id);
        state
            .writing
            .entry(id.to_owned())
            .and_modify(|pin| {
                pin.count += 1;
                pin.overlapped = true;
            })
            .or_insert(Pin {
                count: 1,
                overlapped: false,
            });
    }

    /// Ends a write begun with [`UserCache::begin_write`], after its commit:
    /// `committed` is the user as stored, or `None` when it is gone or the
    /// write failed.
    pub(super) fn end_write(&self, id: &str, committed: Option<&Versioned>) {
        let mut state = self.lock();
        state.generation += 1;
        let Some(pin) = state.writing.get_mut(id) else {
            return;
        };
        if pin.count > 1 {
            pin.count -= 1;
            return;
        }
        let overlapped = pin.overlapped;
        let Some((key, _)) = state.writing.remove_entry(id) else {
            return;
        };
        // Overlapping writes may finish in another order than they
        // committed: the database, not the last finisher, knows the latest.
        if let (false, Some(stored), true) = (overlapped, committed, self.generation_size > 0) {
            self.insert_young(&mut state, key, Encoded::new(stored));
        }
    }

    fn insert_young(&self, state: &mut State, key: String, entry: Encoded) {
        let bytes = entry.bytes(&key);
        if bytes > self.generation_bytes {
            return;
        }
        if state.young.len() >= self.generation_size || state.young.bytes + bytes > self.generation_bytes {
            // The young generation ages; the old one is dropped.
            state.old = std::mem::take(&mut state.young);
        }
        state.young.insert(key, entry);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements; a panic elsewhere
        // while holding the lock cannot leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, revision: i64) -> Versioned {
        Versioned {
            user: User {
                id: id.to_owned(),
                name: format!("{id} at {revision}"),
                ..User::default()
            },
            revision,
        }
    }

    /// What happens between a miss and its fill.
    type Between = fn(&UserCache);

    /// A read that misses, finds `id` at `revision` in the database and
    /// fills the cache with it.
    fn read_through(cache: &UserCache, id: &str, revision: i64) {
        let miss = cache.get(id).expect_err("not cached yet");
        cache.fill(miss, &user(id, revision));
    }

    fn cached_revision(cache: &UserCache, id: &str) -> Option<i64> {
        cache.get(id).ok().map(|found| found.revision)
    }

    #[test]
    fn a_fill_after_a_miss_is_served() {
        let cache = UserCache::new(8, usize::MAX);
        read_through(&cache, "a", 1);
        assert_eq!(cached_revision(&cache, "a"), Some(1));
    }

    #[test]
    fn a_fill_is_refused_when_a_write_began_or_ended_since_the_miss() {
        // (what happens between the miss and the fill, cached afterwards)
        let cases: [(&str, Between, Option<i64>); 4] = [
            ("nothing", |_| {}, Some(1)),
            ("a write began", |cache| cache.begin_write("a"), None),
            (
                "a write of another user ran",
                |cache| {
                    cache.begin_write("b");
                    cache.end_write("b", Some(&user("b", 2)));
                },
                None,
            ),
            (
                "a write ran and installed a newer version",
                |cache| {
                    cache.begin_write("a");
                    cache.end_write("a", Some(&user("a", 2)));
                },
                Some(2),
            ),
        ];
        for (between, action, expected) in cases {
            let cache = UserCache::new(8, usize::MAX);
            let miss = cache.get("a").err().unwrap();
            action(&cache);
            cache.fill(miss, &user("a", 1));
            assert_eq!(cached_revision(&cache, "a"), expected, "{between}");
        }
    }

    #[test]
    fn writes_pin_the_id_and_install_what_they_committed() {
        let cache = UserCache::new(8, usize::MAX);
        read_through(&cache, "a", 1);
        cache.begin_write("a");
        assert_eq!(
            cached_revision(&cache, "a"),
            None,
            "reads go to the database while writing"
        );
        cache.end_write("a", Some(&user("a", 2)));
        assert_eq!(cached_revision(&cache, "a"), Some(2));
        cache.begin_write("a");
        cache.end_write("a", None);
        assert_eq!(
            cached_revision(&cache, "a"),
            None,
            "deleted or failed: nothing cached"
        );
    }

    #[test]
    fn overlapping_writes_install_nothing() {
        let cache = UserCache::new(8, usize::MAX);
        cache.begin_write("a");
        cache.begin_write("a");
        cache.end_write("a", Some(&user("a", 3)));
        assert_eq!(cached_revision(&cache, "a"), None);
        cache.end_write("a", Some(&user("a", 2)));
        assert_eq!(
            cached_revision(&cache, "a"),
            None,
            "the last to finish may not be the latest"
        );
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_recently_used_entries() {
        let cache = UserCache::new(2, usize::MAX);
        for n in 0..100 {
            let id = format!("u{n}");
            read_through(&cache, &id, 1);
            // u0 is read after every fill, so it is never evicted.
            assert_eq!(cached_revision(&cache, "u0"), Some(1), "after u{n}");
            let state = cache.lock();
            assert!(state.young.len() + state.old.len() <= 4, "after u{n}");
        }
        assert_eq!(
            cached_revision(&cache, "u1"),
            None,
            "an old, unread entry was evicted"
        );
    }

    #[test]
    fn the_cache_stays_bounded_in_bytes() {
        // (bytes per generation, name bytes per user, users kept at most)
        let cases = [
            (10_000, 100, 2 * 10_000 / (100 + 64)),
            (10_000, 4_000, 4),
            (10_000, 20_000, 0),
            (0, 10, 0),
        ];
        for (generation_bytes, name_bytes, most) in cases {
            let cache = UserCache::new(1_000, generation_bytes);
            for n in 0..200 {
                let id = format!("u{n}");
                let miss = cache.get(&id).expect_err("not cached yet");
                let mut stored = user(&id, 1);
                stored.user.name = "x".repeat(name_bytes);
                cache.fill(miss, &stored);
                let state = cache.lock();
                assert!(
                    state.young.bytes <= generation_bytes && state.old.bytes <= generation_bytes,
                    "{generation_bytes} {name_bytes} after u{n}"
                );
                let kept = state.young.len() + state.old.len();
                assert!(
                    kept <= most,
                    "{generation_bytes} {name_bytes}: {kept} kept after u{n}"
                );
            }
        }
    }

    #[test]
    fn pins_survive_eviction() {
        let cache = UserCache::new(1, usize::MAX);
        cache.begin_write("pinned");
        for n in 0..10 {
            let id = format!("u{n}");
            read_through(&cache, &id, 1);
        }
        cache.end_write("pinned", Some(&user("pinned", 2)));
        assert_eq!(cached_revision(&cache, "pinned"), Some(2));
    }

    #[test]
    fn a_zero_capacity_caches_nothing() {
        let cache = UserCache::new(0, usize::MAX);
        read_through(&cache, "a", 1);
        cache.begin_write("a");
        cache.end_write("a", Some(&user("a", 2)));
        assert_eq!(cached_revision(&cache, "a"), None);
    }
}
