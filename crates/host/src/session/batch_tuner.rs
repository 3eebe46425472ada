//! Choosing the batch size by measured time, inside the run: the path's own model calls are
//! timed at each candidate size in turn (the largest the memory budget allows, then its
//! halves while each is faster per image than the one before, down to 1 at most; two calls
//! each), and the rest of the run goes at the size that was fastest per image. A call's time
//! is from its start to the next gradient call's start, so it holds everything the method
//! does per point (sampling the path, summing the map), not the model call alone: timing
//! calls in isolation picked batches that were slower in the run. Stopping at the first half
//! that is no faster keeps the points run at slow sizes few (a small network is fastest at the
//! largest batch, and its 50-point map would pay for timing every size).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use srlens_report::BatchTuning;

/// Sizes within this fraction of the fastest per image count as fast: the largest of them is
/// taken (fewer calls, and the timings are noisy at this level).
const TIE: f64 = 0.03;

/// Times a run's gradient calls and says what size the next one should have.
#[derive(Debug)]
pub struct BatchTuner {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The sizes still to be timed, in order (each twice: a new size's first call pays for
    /// the backend's setup at that shape).
    plan: VecDeque<u32>,
    /// The candidate sizes, largest first.
    sizes: Vec<u32>,
    /// The fastest seconds per image seen at each size.
    best: BTreeMap<u32, f64>,
    /// How many calls of each size were timed.
    timed: BTreeMap<u32, u32>,
    /// The start and size of the last gradient call, while nothing else came after it.
    open: Option<(Instant, u32)>,
    /// The size chosen once every candidate was timed (or the fixed size).
    chosen: Option<u32>,
    /// Whether the size is tuned at all.
    tuned: bool,
    /// Whether the choice came from an earlier run's timing.
    cached: bool,
}

impl BatchTuner {
    /// Always `batch` (at least 1).
    pub fn fixed(batch: u32) -> Self {
        BatchTuner {
            state: Mutex::new(State::new(batch, false)),
        }
    }

    /// Timed at `largest` (at least 1), its halves, ..., 1.
    pub fn timed(largest: u32) -> Self {
        BatchTuner {
            state: Mutex::new(State::new(largest, true)),
        }
    }

    /// Starts over: timed from `largest` down when `timed`, else always `largest`.
    pub fn restart(&self, largest: u32, timed: bool) {
        *self.lock() = State::new(largest, timed);
    }

    /// Starts over at `known`'s size, an earlier run's timing of the same calls.
    pub fn restart_at(&self, known: &BatchTuning) {
        let mut s = State::new(known.chosen, true);
        s.plan.clear();
        s.chosen = Some(known.chosen.max(1));
        s.best = known.seconds_per_image.clone();
        s.cached = true;
        *self.lock() = s;
    }

    /// The choice, once this run has timed the sizes to the end (not a cached one).
    pub fn timed_choice(&self) -> Option<BatchTuning> {
        let s = self.lock();
        (s.tuned && !s.cached && s.chosen.is_some()).then(|| s.tuning(1))
    }

    /// The size the next gradient call should have.
    pub fn batch_size(&self) -> u32 {
        let s = self.lock();
        s.chosen
            .or_else(|| s.plan.front().copied())
            .unwrap_or_else(|| {
                // Every size was asked for; the last one's time is not closed yet.
                s.open.map_or(1, |(_, b)| b)
            })
    }

    /// A gradient call of `images` images starts now: the previous call's time is closed.
    pub fn gradient_call(&self, images: u32) {
        self.gradient_call_at(Instant::now(), images);
    }

    fn gradient_call_at(&self, now: Instant, images: u32) {
        let mut s = self.lock();
        if !s.tuned || s.chosen.is_some() {
            return;
        }
        if let Some((start, b)) = s.open.take() {
            let per_image = now.duration_since(start).as_secs_f64() / b.max(1) as f64;
            let best = s.best.entry(b).or_insert(f64::INFINITY);
            *best = best.min(per_image);
            *s.timed.entry(b).or_insert(0) += 1;
            if s.plan.is_empty() || s.no_faster_than_the_larger(b) {
                s.chosen = Some(fastest(&s.best));
                return;
            }
        }
        if s.plan.front() == Some(&images) {
            s.plan.pop_front();
        }
        s.open = Some((now, images.max(1)));
    }

    /// Something other than a path's next point comes now (a forward pass, the end of a
    /// method): the open call's time would hold it, so it is not counted.
    pub fn interrupt(&self) {
        self.lock().open = None;
    }

    /// What was chosen and measured so far; `fallback` where timing has not ended (too few
    /// path points to try every size).
    pub fn choice(&self, fallback: u32) -> BatchTuning {
        self.lock().tuning(fallback)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn new(largest: u32, tuned: bool) -> Self {
        let largest = largest.max(1);
        let sizes = if tuned {
            candidates(largest)
        } else {
            Vec::new()
        };
        State {
            plan: sizes.iter().flat_map(|&b| [b, b]).collect(),
            sizes,
            best: BTreeMap::new(),
            timed: BTreeMap::new(),
            open: None,
            chosen: (!tuned).then_some(largest),
            tuned,
            cached: false,
        }
    }

    /// What was chosen and measured so far (see [`BatchTuner::choice`]).
    fn tuning(&self, fallback: u32) -> BatchTuning {
        BatchTuning {
            mode: if self.tuned { "time" } else { "fixed" }.into(),
            chosen: self
                .chosen
                .or_else(|| (!self.best.is_empty()).then(|| fastest(&self.best)))
                .unwrap_or(fallback),
            seconds_per_image: self.best.clone(),
            cached: self.cached,
        }
    }

    /// Whether the candidate `b`, timed in full (twice), is no faster per image than the
    /// candidate before it: the smaller ones are not tried.
    fn no_faster_than_the_larger(&self, b: u32) -> bool {
        let Some(i) = self.sizes.iter().position(|&s| s == b) else {
            return false;
        };
        if i == 0 || self.timed.get(&b) < Some(&2) {
            return false;
        }
        let larger = self.sizes[i - 1];
        match (self.best.get(&b), self.best.get(&larger)) {
            (Some(&t), Some(&l)) => t > l * (1.0 - TIE),
            _ => false,
        }
    }
}

/// `largest`, its halves (rounded down), ..., 1: `8 -> [8, 4, 2, 1]`, `6 -> [6, 3, 1]`.
fn candidates(largest: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut b = largest.max(1);
    while b > 1 {
        out.push(b);
        b /= 2;
    }
    out.push(1);
    out
}

/// The largest size within [`TIE`] of the fastest per image.
fn fastest(best: &BTreeMap<u32, f64>) -> u32 {
    let min = best.values().copied().fold(f64::INFINITY, f64::min);
    best.iter()
        .rev()
        .find(|(_, &t)| t <= min * (1.0 + TIE))
        .map_or(1, |(&b, _)| b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Drives the tuner with calls whose per-image cost is `cost(batch)` seconds, as a path
    /// loop does: ask the size, call, repeat; returns the sizes of the calls.
    fn drive(tuner: &BatchTuner, points: u32, cost: impl Fn(u32) -> f64) -> Vec<u32> {
        let mut now = Instant::now();
        let mut done = 0;
        let mut sizes = Vec::new();
        while done < points {
            let b = tuner.batch_size().min(points - done);
            tuner.gradient_call_at(now, b);
            now += Duration::from_secs_f64(cost(b) * b as f64);
            sizes.push(b);
            done += b;
        }
        sizes
    }

    #[test]
    fn candidates_halve_down_to_one() {
        assert_eq!(candidates(8), [8, 4, 2, 1]);
        assert_eq!(candidates(6), [6, 3, 1]);
        assert_eq!(candidates(1), [1]);
        assert_eq!(candidates(0), [1]);
    }

    #[test]
    fn every_size_is_timed_twice_then_the_fastest_per_image_is_kept() {
        let tuner = BatchTuner::timed(4);
        // Two images per call are fastest per image.
        let sizes = drive(&tuner, 49, |b| match b {
            4 => 0.012,
            2 => 0.010,
            _ => 0.020,
        });
        assert_eq!(&sizes[..7], &[4, 4, 2, 2, 1, 1, 1]);
        assert!(sizes[7..].iter().all(|&b| b == 2), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<u32>(), 49);
        let c = tuner.choice(4);
        assert_eq!((c.mode.as_str(), c.chosen), ("time", 2));
        assert_eq!(
            c.seconds_per_image.keys().copied().collect::<Vec<_>>(),
            [1, 2, 4]
        );
        assert!((c.seconds_per_image[&2] - 0.010).abs() < 1e-9);
    }

    #[test]
    fn halving_stops_at_the_first_size_no_faster_than_the_one_before() {
        let tuner = BatchTuner::timed(8);
        let sizes = drive(&tuner, 50, |b| if b == 8 { 0.010 } else { 0.012 });
        // 4 was timed twice and found slower; the call in flight when that was known (2)
        // is the last of another size.
        assert_eq!(&sizes[..6], &[8, 8, 4, 4, 2, 8]);
        assert!(
            sizes[6..sizes.len() - 1].iter().all(|&b| b == 8),
            "{sizes:?}"
        );
        let c = tuner.choice(8);
        assert_eq!(c.chosen, 8);
        assert_eq!(
            c.seconds_per_image.keys().copied().collect::<Vec<_>>(),
            [4, 8]
        );
    }

    #[test]
    fn near_ties_go_to_the_larger_batch() {
        let tuner = BatchTuner::timed(4);
        drive(&tuner, 20, |b| if b == 1 { 0.0100 } else { 0.0102 });
        assert_eq!(tuner.choice(4).chosen, 4);
    }

    #[test]
    fn a_forward_pass_between_calls_is_not_a_points_time() {
        let tuner = BatchTuner::timed(2);
        let t0 = Instant::now();
        tuner.gradient_call_at(t0, 2);
        tuner.interrupt();
        // Had it been counted, 2 would cost 50 s per image.
        tuner.gradient_call_at(t0 + Duration::from_secs(100), 2);
        tuner.gradient_call_at(t0 + Duration::from_secs(101), 1);
        assert_eq!(tuner.choice(2).seconds_per_image[&2], 0.5);
    }

    #[test]
    fn a_fixed_size_never_moves() {
        let tuner = BatchTuner::fixed(3);
        assert!(drive(&tuner, 10, |_| 0.01).iter().take(3).all(|&b| b == 3));
        let c = tuner.choice(3);
        assert_eq!((c.mode.as_str(), c.chosen), ("fixed", 3));
        assert!(c.seconds_per_image.is_empty());
    }

    #[test]
    fn a_cached_choice_is_used_at_once_and_never_stored_again() {
        let tuner = BatchTuner::timed(8);
        assert_eq!(tuner.timed_choice(), None);
        drive(&tuner, 40, |b| if b == 4 { 0.01 } else { 0.02 });
        let timed = tuner.timed_choice().expect("timed to the end");
        assert_eq!((timed.chosen, timed.cached), (4, false));
        let again = BatchTuner::timed(8);
        again.restart_at(&timed);
        assert!(drive(&again, 40, |_| 0.01).iter().all(|&b| b == 4));
        let c = again.choice(8);
        assert!(c.cached && c.chosen == 4 && c.seconds_per_image == timed.seconds_per_image);
        assert_eq!(again.timed_choice(), None);
    }

    #[test]
    fn too_few_points_leave_the_best_timed_so_far() {
        let tuner = BatchTuner::timed(4);
        drive(&tuner, 9, |b| if b == 4 { 0.01 } else { 0.02 });
        assert_eq!(tuner.choice(4).chosen, 4);
        assert_eq!(BatchTuner::timed(4).choice(4).chosen, 4);
    }
}
