//! The draw's store contract, on memory by default and on Redis with TEST_REDIS_URL.

use futures::future::join_all;
use wxcampaign::store::lottery::{
    CounterValue, DrawOutcome, DrawSpec, Forgotten, Guarantee, Hydration, PrizeRule, Scope,
};
use wxcampaign::store::SharedStore;

use crate::helpers::{fresh_store, random_prefix};

const TOP: i64 = 1;
const THANKS: i64 = 9;

fn prize(id: i64, tier: i32, weight: u32, stock: Option<u32>) -> PrizeRule {
    PrizeRule {
        id,
        tier,
        weight,
        stock,
        per_user_total: None,
        per_user_daily: None,
    }
}

fn spec(user_id: i64, request: &str, prizes: Vec<PrizeRule>) -> DrawSpec {
    DrawSpec {
        campaign: "q4".into(),
        pool_id: 7,
        user_id,
        request_id: request.into(),
        day: "2026-12-01".into(),
        prizes,
        guarantee: None,
        consolation: None,
        random: rand::random::<u64>() >> 11,
    }
}

fn prize_of(outcome: &DrawOutcome) -> Option<i64> {
    match outcome {
        DrawOutcome::Won(won) | DrawOutcome::Replayed(won) => Some(won.prize_id),
        _ => None,
    }
}

/// A store whose pool 7 is hydrated (as after its first rebuild, with nothing drawn yet).
async fn store() -> SharedStore {
    let store = fresh_store(&random_prefix()).await;
    store
        .hydrate("q4", 7, &marker_only(Scope::Pool))
        .await
        .unwrap();
    store
}

fn marker_only(scope: Scope) -> Hydration {
    Hydration {
        scope,
        counters: Vec::new(),
        free_stock: Vec::new(),
    }
}

/// Adds chances to `user`, whose scope is marked hydrated first (setting no counter, so repeats add up).
async fn chances(store: &SharedStore, user: i64, count: u32) {
    store
        .hydrate("q4", 7, &marker_only(Scope::User(user)))
        .await
        .unwrap();
    store.add_chances("q4", 7, user, count).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_draw_needs_a_chance_and_a_repeat_returns_the_first_answer() {
    let store = store().await;
    let prizes = vec![prize(TOP, 1, 10_000, None)];
    chances(&store, 1, 0).await;
    assert_eq!(
        store.draw(&spec(1, "r1", prizes.clone())).await.unwrap(),
        DrawOutcome::NoChance
    );
    chances(&store, 1, 1).await;
    let first = store.draw(&spec(1, "r1", prizes.clone())).await.unwrap();
    assert!(matches!(first, DrawOutcome::Won(w) if w.prize_id == TOP));
    let repeat = store.draw(&spec(1, "r1", prizes.clone())).await.unwrap();
    assert!(
        matches!(repeat, DrawOutcome::Replayed(w) if w.prize_id == TOP),
        "{repeat:?}"
    );
    assert_eq!(
        store.draw(&spec(1, "r2", prizes)).await.unwrap(),
        DrawOutcome::NoChance,
        "the repeat spent nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_draws_on_a_stock_of_ten_win_exactly_ten() {
    let store = store().await;
    let prizes = vec![prize(TOP, 1, 10_000, Some(10))];
    for user in 0..1000 {
        chances(&store, user, 1).await;
    }
    let draws = (0..1000).map(|user| {
        let store = store.clone();
        let spec = spec(user, &format!("r{user}"), prizes.clone());
        tokio::spawn(async move { store.draw(&spec).await.unwrap() })
    });
    let outcomes: Vec<DrawOutcome> = join_all(draws)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| prize_of(o) == Some(TOP)).count(),
        10
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == DrawOutcome::OutOfStock)
            .count(),
        990
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_per_user_daily_limit_holds_under_concurrency_and_the_consolation_takes_over() {
    let store = store().await;
    let mut limited = prize(TOP, 1, 10_000, None);
    limited.per_user_daily = Some(3);
    let prizes = vec![limited, prize(THANKS, 9, 0, None)];
    chances(&store, 1, 50).await;
    let draws = (0..50).map(|i| {
        let store = store.clone();
        let mut spec = spec(1, &format!("r{i}"), prizes.clone());
        spec.consolation = Some(1);
        tokio::spawn(async move { store.draw(&spec).await.unwrap() })
    });
    let outcomes: Vec<DrawOutcome> = join_all(draws)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| prize_of(o) == Some(TOP)).count(),
        3
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| prize_of(o) == Some(THANKS))
            .count(),
        47
    );
    // A new day has a new limit.
    chances(&store, 1, 1).await;
    let mut tomorrow = spec(1, "next-day", prizes);
    tomorrow.day = "2026-12-02".into();
    assert_eq!(prize_of(&store.draw(&tomorrow).await.unwrap()), Some(TOP));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_guarantee_fires_at_draw_n_and_then_starts_over() {
    let store = store().await;
    // The top prize is 1 in 10,000: without the guarantee these draws would (almost) never win it.
    let prizes = vec![prize(TOP, 1, 1, None), prize(THANKS, 9, 9_999, None)];
    chances(&store, 1, 10).await;
    let mut won = Vec::new();
    for i in 0..10 {
        let mut spec = spec(1, &format!("r{i}"), prizes.clone());
        spec.guarantee = Some(Guarantee { after: 5, tier: 1 });
        spec.random = 5_000; // always lands in the thanks band by weight
        match store.draw(&spec).await.unwrap() {
            DrawOutcome::Won(w) => won.push((w.prize_id, w.guaranteed)),
            other => panic!("{other:?}"),
        }
    }
    let tops: Vec<usize> = won
        .iter()
        .enumerate()
        .filter(|(_, w)| w.0 == TOP)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(tops, vec![5, 10], "{won:?}");
    assert!(
        won.iter().filter(|w| w.0 == TOP).all(|w| w.1),
        "marked as guaranteed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_campaign_draws_nothing_and_an_undone_draw_gives_everything_back() {
    let store = store().await;
    let prizes = vec![prize(TOP, 1, 10_000, Some(1))];
    chances(&store, 1, 1).await;
    store.set_paused("q4", true).await.unwrap();
    assert_eq!(
        store.draw(&spec(1, "r1", prizes.clone())).await.unwrap(),
        DrawOutcome::Paused
    );
    store.set_paused("q4", false).await.unwrap();

    let spec1 = spec(1, "r1", prizes.clone());
    let DrawOutcome::Won(won) = store.draw(&spec1).await.unwrap() else {
        panic!("first draw wins")
    };
    store.undo_draw(&spec1, &won, true).await.unwrap();
    // The stock, the chance and the request id are all back: the same request draws again and wins.
    assert!(matches!(store.draw(&spec1).await.unwrap(), DrawOutcome::Won(w) if w.prize_id == TOP));
    chances(&store, 2, 1).await;
    assert_eq!(
        store.draw(&spec(2, "r2", prizes)).await.unwrap(),
        DrawOutcome::OutOfStock
    );
}

/// Many draws fit the published odds: a chi-square test at p = 0.001 (df = 3, critical value 16.27), with a
/// seeded generator so the test is repeatable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_draws_fit_the_published_odds() {
    use rand::{Rng, SeedableRng};
    let store = store().await;
    let weights = [10u32, 990, 4000, 5000];
    let prizes: Vec<PrizeRule> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| prize(i as i64 + 1, i as i32 + 1, *w, None))
        .collect();
    let draws = 20_000u32;
    chances(&store, 1, draws).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261123);
    let mut counts = [0u32; 4];
    for i in 0..draws {
        let mut spec = spec(1, &format!("r{i}"), prizes.clone());
        spec.random = rng.random::<u64>() >> 11;
        let won = prize_of(&store.draw(&spec).await.unwrap()).unwrap();
        counts[(won - 1) as usize] += 1;
    }
    let chi_square: f64 = weights
        .iter()
        .zip(counts)
        .map(|(w, observed)| {
            let expected = f64::from(draws) * f64::from(*w) / 10_000.0;
            (f64::from(observed) - expected).powi(2) / expected
        })
        .sum();
    assert!(
        chi_square < 16.27,
        "counts {counts:?} do not fit the odds (chi-square {chi_square:.2})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scope_without_its_marker_draws_nothing_until_it_is_rebuilt() {
    let store = fresh_store(&random_prefix()).await;
    let prizes = vec![prize(TOP, 1, 10_000, Some(5))];
    let forgotten = |pool, user| DrawOutcome::Forgotten(Forgotten { pool, user });
    // Chances added to a customer the store does not know are left to the rebuild, which reads every grant.
    store.add_chances("q4", 7, 1, 3).await.unwrap();
    assert_eq!(
        store.draw(&spec(1, "r1", prizes.clone())).await.unwrap(),
        forgotten(true, true)
    );
    store
        .hydrate("q4", 7, &marker_only(Scope::Pool))
        .await
        .unwrap();
    assert_eq!(
        store.draw(&spec(1, "r1", prizes.clone())).await.unwrap(),
        forgotten(false, true)
    );
    let rebuilt = Hydration {
        scope: Scope::User(1),
        counters: vec![
            CounterValue {
                name: "u1:granted".into(),
                value: 1,
                expires: false,
            },
            CounterValue {
                name: "u1:used".into(),
                value: 0,
                expires: false,
            },
        ],
        free_stock: Vec::new(),
    };
    store.hydrate("q4", 7, &rebuilt).await.unwrap();
    assert!(matches!(
        store.draw(&spec(1, "r1", prizes.clone())).await.unwrap(),
        DrawOutcome::Won(_)
    ));
    assert_eq!(
        store.draw(&spec(1, "r2", prizes.clone())).await.unwrap(),
        DrawOutcome::NoChance,
        "the 3 chances added before the rebuild were not counted on top of the database's 1"
    );
    store.forget("q4", 7, Scope::Pool).await.unwrap();
    assert_eq!(
        store.draw(&spec(1, "r3", prizes)).await.unwrap(),
        forgotten(true, false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stocked_prize_hands_out_each_unit_once_and_a_released_unit_again() {
    let store = store().await;
    let prizes = vec![prize(TOP, 1, 10_000, Some(3))];
    chances(&store, 1, 10).await;
    let mut units = Vec::new();
    let mut specs = Vec::new();
    for i in 0..3 {
        let spec = spec(1, &format!("r{i}"), prizes.clone());
        let DrawOutcome::Won(won) = store.draw(&spec).await.unwrap() else {
            panic!("in stock")
        };
        units.push(won.stock_seq);
        specs.push((spec, won));
    }
    assert_eq!(units, vec![Some(1), Some(2), Some(3)]);
    assert_eq!(
        store.draw(&spec(1, "r3", prizes.clone())).await.unwrap(),
        DrawOutcome::OutOfStock
    );
    // A unit the database refused because another draw holds it stays used; one never recorded comes back.
    let (spec1, won1) = &specs[0];
    store.undo_draw(spec1, won1, false).await.unwrap();
    assert_eq!(
        store.draw(&spec(1, "r4", prizes.clone())).await.unwrap(),
        DrawOutcome::OutOfStock
    );
    let (spec2, won2) = &specs[1];
    store.undo_draw(spec2, won2, true).await.unwrap();
    let DrawOutcome::Won(again) = store.draw(&spec(1, "r5", prizes.clone())).await.unwrap() else {
        panic!("the released unit is drawn again")
    };
    assert_eq!(again.stock_seq, Some(2));
    // A rebuild sets the units handed out and the free ones from the database.
    let rebuilt = Hydration {
        scope: Scope::Pool,
        counters: vec![CounterValue {
            name: format!("stock:{TOP}"),
            value: 3,
            expires: false,
        }],
        free_stock: vec![(TOP, vec![1, 3])],
    };
    store.hydrate("q4", 7, &rebuilt).await.unwrap();
    let mut after = Vec::new();
    for i in 6..9 {
        match store
            .draw(&spec(1, &format!("r{i}"), prizes.clone()))
            .await
            .unwrap()
        {
            DrawOutcome::Won(won) => after.push(won.stock_seq),
            other => after.push(if other == DrawOutcome::OutOfStock {
                None
            } else {
                panic!("{other:?}")
            }),
        }
    }
    assert_eq!(after, vec![Some(1), Some(3), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_undo_after_a_rebuild_never_takes_a_counter_below_zero() {
    let store = store().await;
    let prizes = vec![prize(TOP, 1, 10_000, None)];
    chances(&store, 1, 1).await;
    let first = spec(1, "r1", prizes.clone());
    let DrawOutcome::Won(won) = store.draw(&first).await.unwrap() else {
        panic!("a chance, a prize")
    };
    // A rebuild read the database before that draw's record: the customer's counters are back at 1 granted, 0 used.
    let counter = |name: &str, value| CounterValue {
        name: name.into(),
        value,
        expires: false,
    };
    let rebuilt = Hydration {
        scope: Scope::User(1),
        counters: vec![counter("u1:granted", 1), counter("u1:used", 0)],
        free_stock: Vec::new(),
    };
    store.hydrate("q4", 7, &rebuilt).await.unwrap();
    store.undo_draw(&first, &won, true).await.unwrap();
    // One chance, one draw: a "used" counter at -1 would allow two.
    let second = store.draw(&spec(1, "r2", prizes.clone())).await.unwrap();
    assert!(matches!(second, DrawOutcome::Won(_)), "{second:?}");
    assert_eq!(
        store.draw(&spec(1, "r3", prizes)).await.unwrap(),
        DrawOutcome::NoChance
    );
}
