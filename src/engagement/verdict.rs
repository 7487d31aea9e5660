//! The engagement rules: a [`Profile`] and a [`Context`] in, dated [`Finding`]s out.

use chrono::NaiveDate;

use super::{EngagementRules, Profile, day_of};
use crate::reason::{Finding, Reason};

/// What the rules need besides the profile.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The day the rules measure from.
    pub as_of: NaiveDate,
    /// The contact's signup date, from the contacts file when it has one.
    pub signup: Option<NaiveDate>,
    /// The domain's MX hosts belong to a parking service.
    pub parked: bool,
}

/// The engagement verdict for one contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Every engagement reason that applies, in precedence order.
    pub findings: Vec<Finding>,
    /// Days from the last human open or click to `as_of`, if there was one.
    pub days_since_engagement: Option<i64>,
}

/// A day for a detail (`2024-03-02`); `?` for a time chrono cannot represent.
fn day(seconds: i64) -> String {
    day_of(seconds).map_or_else(|| "?".to_owned(), |d| d.to_string())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Applies the engagement rules to one contact.
///
/// - `hard_bounced`: the last hard bounce has no later delivery and no later human open or click.
/// - `complained` / `unsubscribed`: any complaint / unsubscribe.
/// - `suspected_recycled_trap`: a hard bounce, then at least `trap_min_deliveries` deliveries
///   after the last one, and no human open or click since it. A parked domain and an old signup
///   (`trap_old_signup_days`) with never a human open or click are named as further evidence.
/// - `inactive`: no human open or click for more than `inactive_days` days before `as_of`
///   (never engaged counts as that), at least `inactive_min_sends` sends since the last one (or
///   since the first event when never engaged), and signed up more than `signup_grace_days`
///   days before `as_of` (signup from the context, else the first event).
///
/// Without a profile (no events for the address) nothing applies.
pub fn evaluate(
    profile: Option<&Profile>,
    context: &Context,
    rules: &EngagementRules,
) -> Evaluation {
    let Some(profile) = profile else {
        return Evaluation::default();
    };
    let last_engagement = profile.last_engagement();
    let days_since = |seconds: i64| day_of(seconds).map(|d| (context.as_of - d).num_days());
    let days_since_engagement = last_engagement.and_then(days_since);
    let no_human_since = |_: ()| match last_engagement {
        Some(t) => format!("no human open or click since {}", day(t)),
        None => "never a human open or click".to_owned(),
    };
    let mut findings = Vec::new();

    if let Some(bounce) = profile.last_hard_bounce {
        let engaged_since = last_engagement.is_some_and(|t| t > bounce);
        let delivered = profile.deliveries_after_last_hard_bounce;
        if delivered == 0 && !engaged_since {
            let mut detail = format!("hard bounce {}", day(bounce));
            // See: #11 part 4: the code the class rests on, and a label it overrode.
            match (
                &profile.last_hard_bounce_code,
                profile.last_hard_bounce_relabelled,
            ) {
                (Some(code), true) => detail.push_str(&format!(
                    " ({code}; the service labelled it otherwise, the code decides)"
                )),
                (Some(code), false) => detail.push_str(&format!(" ({code})")),
                _ => {}
            }
            detail.push_str(", no delivery since");
            if profile.hard_bounces > 1 {
                detail.push_str(&format!(
                    " ({} since {})",
                    plural(profile.hard_bounces, "hard bounce", "hard bounces"),
                    day(profile.first_hard_bounce.unwrap_or(bounce))
                ));
            }
            findings.push(Finding::new(Reason::HardBounced, detail));
        } else if !engaged_since && delivered >= u64::from(rules.trap_min_deliveries) {
            let mut detail = format!(
                "hard bounce {}, delivered {} since, {}",
                day(bounce),
                plural(delivered, "time", "times"),
                no_human_since(())
            );
            let mut evidence = Vec::new();
            if context.parked {
                evidence.push("parked domain".to_owned());
            }
            if last_engagement.is_none() {
                let signup = context
                    .signup
                    .or_else(|| profile.first_event.and_then(day_of));
                if let Some(signup) = signup {
                    let age = (context.as_of - signup).num_days();
                    if age > i64::from(rules.trap_old_signup_days) {
                        evidence.push(format!(
                            "never engaged since signup {signup} ({age} days ago)"
                        ));
                    }
                }
            }
            if !evidence.is_empty() {
                detail.push_str(&format!("; also {}", evidence.join(", ")));
            }
            findings.push(Finding::new(Reason::SuspectedRecycledTrap, detail));
        }
    }
    if let Some(first) = profile.first_complaint {
        let mut detail = format!("complaint {}", day(first));
        if profile.complaints > 1 {
            detail.push_str(&format!(" ({} in all)", profile.complaints));
        }
        findings.push(Finding::new(Reason::Complained, detail));
    }
    if let Some(first) = profile.first_unsubscribe {
        findings.push(Finding::new(
            Reason::Unsubscribed,
            format!("unsubscribed {}", day(first)),
        ));
    }

    let (signup, signup_source) = match context.signup {
        Some(signup) => (Some(signup), "signup"),
        None => (profile.first_event.and_then(day_of), "first event"),
    };
    let past_grace =
        signup.is_some_and(|s| (context.as_of - s).num_days() > i64::from(rules.signup_grace_days));
    let quiet_long_enough =
        days_since_engagement.is_none_or(|days| days > i64::from(rules.inactive_days));
    let sends = profile.sends_since_engagement;
    if past_grace && quiet_long_enough && sends >= u64::from(rules.inactive_min_sends) {
        let sends_text = plural(sends, "send", "sends");
        let detail = match (last_engagement, days_since_engagement) {
            (Some(t), Some(days)) => format!(
                "no human open or click since {} ({days} days before {}), {sends_text} since",
                day(t),
                context.as_of
            ),
            _ => format!(
                "never opened or clicked, {sends_text} since {signup_source} {}",
                signup.map_or_else(|| "?".to_owned(), |s| s.to_string())
            ),
        };
        findings.push(Finding::new(Reason::Inactive, detail));
    }
    // See: #11 part 5
    let streak = profile.soft_bounce_streak;
    if rules.soft_bounce_streak > 0 && streak >= u64::from(rules.soft_bounce_streak) {
        let since = match profile.last_delivery {
            Some(t) => format!("since the last delivery {}", day(t)),
            None => "and never a delivery".to_owned(),
        };
        let last = profile.last_soft_bounce.map_or_else(|| "?".to_owned(), day);
        findings.push(Finding::new(
            Reason::RepeatedSoftBounce,
            format!("{streak} soft bounces {since} (last {last})"),
        ));
    }
    findings.sort_by_key(|f| f.reason);
    Evaluation {
        findings,
        days_since_engagement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engagement::parse::timestamp;

    fn t(s: &str) -> i64 {
        timestamp(s).unwrap()
    }

    fn ctx(as_of: &str) -> Context {
        Context {
            as_of: NaiveDate::parse_from_str(as_of, "%Y-%m-%d").unwrap(),
            signup: None,
            parked: false,
        }
    }

    fn reasons(e: &Evaluation) -> Vec<Reason> {
        e.findings.iter().map(|f| f.reason).collect()
    }

    #[test]
    fn inactive_boundaries() {
        let rules = EngagementRules::default();
        let profile = Profile {
            sends: 23,
            sends_since_engagement: 23,
            last_human_open: Some(t("2024-08-30T12:00:00Z")),
            first_event: Some(t("2023-01-01")),
            ..Profile::default()
        };
        // 2024-08-30 + 365 days = 2025-08-30.
        for (as_of, inactive) in [
            ("2025-08-29", false),
            ("2025-08-30", false),
            ("2025-08-31", true),
        ] {
            let e = evaluate(Some(&profile), &ctx(as_of), &rules);
            assert_eq!(reasons(&e) == [Reason::Inactive], inactive, "{as_of}");
        }
        let e = evaluate(Some(&profile), &ctx("2025-11-30"), &rules);
        assert_eq!(e.days_since_engagement, Some(457));
        assert_eq!(
            e.findings[0].detail,
            "no human open or click since 2024-08-30 (457 days before 2025-11-30), 23 sends since"
        );
        let few = Profile {
            sends_since_engagement: 9,
            ..profile.clone()
        };
        assert!(
            evaluate(Some(&few), &ctx("2025-11-30"), &rules)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn never_engaged_and_grace() {
        let rules = EngagementRules::default();
        let profile = Profile {
            sends: 14,
            sends_since_engagement: 14,
            first_event: Some(t("2024-01-11")),
            ..Profile::default()
        };
        let mut context = ctx("2024-06-01");
        context.signup = NaiveDate::from_ymd_opt(2024, 1, 10);
        let e = evaluate(Some(&profile), &context, &rules);
        assert_eq!(
            e.findings[0].detail,
            "never opened or clicked, 14 sends since signup 2024-01-10"
        );
        assert_eq!(e.days_since_engagement, None);
        // Signed up exactly 90 days before: still in grace; 91: not.
        context.signup = NaiveDate::from_ymd_opt(2024, 3, 3);
        assert!(
            evaluate(Some(&profile), &context, &rules)
                .findings
                .is_empty()
        );
        context.signup = NaiveDate::from_ymd_opt(2024, 3, 2);
        assert_eq!(
            reasons(&evaluate(Some(&profile), &context, &rules)),
            [Reason::Inactive]
        );
    }

    #[test]
    fn bounces_traps_and_precedence() {
        let rules = EngagementRules::default();
        let bounced = Profile {
            hard_bounces: 1,
            first_hard_bounce: Some(t("2024-03-02T08:00:00Z")),
            last_hard_bounce: Some(t("2024-03-02T08:00:00Z")),
            last_human_click: Some(t("2023-01-14")),
            first_event: Some(t("2022-01-01")),
            first_complaint: Some(t("2025-06-01")),
            complaints: 1,
            ..Profile::default()
        };
        let e = evaluate(Some(&bounced), &ctx("2026-11-29"), &rules);
        assert_eq!(reasons(&e), [Reason::HardBounced, Reason::Complained]);
        assert_eq!(
            e.findings[0].detail,
            "hard bounce 2024-03-02, no delivery since"
        );
        assert_eq!(e.findings[1].detail, "complaint 2025-06-01");

        let two = Profile {
            deliveries_after_last_hard_bounce: 2,
            ..bounced.clone()
        };
        assert_eq!(
            reasons(&evaluate(Some(&two), &ctx("2026-11-29"), &rules)),
            [Reason::Complained]
        );
        let trap = Profile {
            deliveries_after_last_hard_bounce: 9,
            ..bounced.clone()
        };
        let e = evaluate(Some(&trap), &ctx("2026-11-29"), &rules);
        assert_eq!(
            reasons(&e),
            [Reason::Complained, Reason::SuspectedRecycledTrap]
        );
        assert_eq!(
            e.findings[1].detail,
            "hard bounce 2024-03-02, delivered 9 times since, no human open or click since 2023-01-14"
        );

        let reengaged = Profile {
            last_human_open: Some(t("2024-04-01")),
            ..trap.clone()
        };
        assert_eq!(
            reasons(&evaluate(Some(&reengaged), &ctx("2024-05-01"), &rules)),
            [Reason::Complained]
        );

        let never = Profile {
            last_human_click: None,
            first_complaint: None,
            complaints: 0,
            ..trap
        };
        let mut context = ctx("2026-11-29");
        context.parked = true;
        let e = evaluate(Some(&never), &context, &rules);
        assert_eq!(
            e.findings[0].detail,
            "hard bounce 2024-03-02, delivered 9 times since, never a human open or click; also parked domain, never engaged since signup 2022-01-01 (1793 days ago)"
        );
        assert!(evaluate(None, &context, &rules).findings.is_empty());
    }

    #[test]
    fn an_open_at_the_very_second_of_the_bounce_is_not_engagement_since() {
        let rules = EngagementRules::default();
        let bounce = t("2024-03-02T08:00:00Z");
        let profile = Profile {
            sends: 3,
            hard_bounces: 1,
            last_hard_bounce: Some(bounce),
            first_hard_bounce: Some(bounce),
            last_human_open: Some(bounce),
            first_event: Some(t("2024-01-01")),
            ..Profile::default()
        };
        let context = ctx("2024-06-01");
        let same = evaluate(Some(&profile), &context, &rules);
        assert_eq!(reasons(&same), vec![Reason::HardBounced]);
        let later = Profile {
            last_human_open: Some(bounce + 1),
            ..profile
        };
        assert!(!reasons(&evaluate(Some(&later), &context, &rules)).contains(&Reason::HardBounced));
    }

    #[test]
    fn counts_in_details_appear_only_above_one() {
        let rules = EngagementRules::default();
        let once = Profile {
            hard_bounces: 1,
            first_hard_bounce: Some(t("2024-03-02")),
            last_hard_bounce: Some(t("2024-03-02")),
            first_complaint: Some(t("2025-06-01")),
            complaints: 1,
            first_event: Some(t("2022-01-01")),
            ..Profile::default()
        };
        let e = evaluate(Some(&once), &ctx("2026-11-29"), &rules);
        assert_eq!(
            e.findings[0].detail,
            "hard bounce 2024-03-02, no delivery since"
        );
        assert_eq!(e.findings[1].detail, "complaint 2025-06-01");
        let twice = Profile {
            hard_bounces: 2,
            first_hard_bounce: Some(t("2023-12-24")),
            complaints: 2,
            ..once
        };
        let e = evaluate(Some(&twice), &ctx("2026-11-29"), &rules);
        assert_eq!(
            e.findings[0].detail,
            "hard bounce 2024-03-02, no delivery since (2 hard bounces since 2023-12-24)"
        );
        assert_eq!(e.findings[1].detail, "complaint 2025-06-01 (2 in all)");
    }

    #[test]
    fn an_old_signup_strengthens_a_trap_only_past_the_threshold() {
        let rules = EngagementRules::default();
        let trap = Profile {
            hard_bounces: 1,
            first_hard_bounce: Some(t("2024-03-02")),
            last_hard_bounce: Some(t("2024-03-02")),
            deliveries_after_last_hard_bounce: 5,
            first_event: Some(t("2024-01-01")),
            ..Profile::default()
        };
        let mut context = ctx("2026-11-29");
        // Exactly trap_old_signup_days (730) after signup: not yet "old".
        context.signup = Some(context.as_of - chrono::Days::new(730));
        let detail = |c: &Context| evaluate(Some(&trap), c, &rules).findings[0].detail.clone();
        assert!(
            !detail(&context).contains("never engaged since signup"),
            "{}",
            detail(&context)
        );
        context.signup = Some(context.as_of - chrono::Days::new(731));
        assert!(
            detail(&context).ends_with("(731 days ago)"),
            "{}",
            detail(&context)
        );
    }
}
