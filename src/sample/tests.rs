//! The sampler and the interval. See: #13 part 6.

use super::*;

#[test]
fn every_item_is_equally_likely_to_be_sampled() {
    let (items, capacity, seeds) = (20usize, 5usize, 20_000u64);
    let mut held = vec![0u64; items];
    for seed in 0..seeds {
        let mut reservoir = Reservoir::new(capacity, seed);
        for i in 0..items {
            reservoir.offer(i);
        }
        for i in reservoir.into_ordered() {
            held[i] += 1;
        }
    }
    let expected = capacity as f64 / items as f64;
    for (i, &n) in held.iter().enumerate() {
        let share = n as f64 / seeds as f64;
        // The standard error is about 0.003; 0.015 is five of them.
        assert!(
            (share - expected).abs() < 0.015,
            "item {i} held in {share:.4} of the runs, expected {expected}"
        );
    }
}

#[test]
fn sample_size_is_the_smaller_of_capacity_and_items() {
    for (capacity, items, expected) in [(10, 3, 3), (10, 10, 10), (10, 1000, 10), (0, 5, 0)] {
        let mut reservoir = Reservoir::new(capacity, 7);
        for i in 0..items {
            reservoir.offer(i);
        }
        assert_eq!(reservoir.offered(), items as u64);
        assert_eq!(
            reservoir.into_ordered().len(),
            expected,
            "{capacity} of {items}"
        );
    }
}

#[test]
fn the_sample_comes_back_in_input_order() {
    let mut reservoir = Reservoir::new(50, 3);
    for i in 0..10_000u32 {
        reservoir.offer(i);
    }
    let held = reservoir.into_ordered();
    assert!(held.windows(2).all(|w| w[0] < w[1]), "{held:?}");
    // Not merely the first 50 items.
    assert!(held.iter().any(|&i| i >= 50));
}

#[test]
fn the_same_seed_gives_the_same_sample_and_another_seed_another() {
    let run = |seed| {
        let mut reservoir = Reservoir::new(20, seed);
        for i in 0..5_000u32 {
            reservoir.offer(i);
        }
        reservoir.into_ordered()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn wilson_interval_matches_known_values() {
    let close = |(low, high): (f64, f64), (l, h): (f64, f64)| {
        assert!(
            (low - l).abs() < 5e-5 && (high - h).abs() < 5e-5,
            "got ({low}, {high}), expected ({l}, {h})"
        );
    };
    close(wilson(10, 100), (0.05523, 0.17437));
    close(wilson(50, 100), (0.40383, 0.59617));
    close(wilson(0, 10), (0.0, 0.27753));
    close(wilson(10, 10), (0.72247, 1.0));
    close(wilson(1, 1000), (0.00018, 0.00565));
    assert_eq!(wilson(0, 0), (0.0, 1.0));
}

#[test]
fn projection_scales_the_interval_to_the_list() {
    let e = Estimate::project(10, 100, 1_000_000);
    assert_eq!(e.sample, 10);
    assert_eq!(e.projected, 100_000);
    assert!((55_220..=55_240).contains(&e.low), "{e:?}");
    assert!((174_360..=174_380).contains(&e.high), "{e:?}");
    // A sample of the whole list is exact.
    let all = Estimate::project(7, 40, 40);
    assert_eq!((all.projected, all.low, all.high), (7, 7, 7));
}
