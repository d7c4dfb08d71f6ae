namespace Tally.Cli.Profiles;

/// <summary>The five seed systems Tally replaces (../shared/DESIGN.md, "What it must serve"); docs/profiles.md describes each.</summary>
internal static class SeedProfiles
{
    public static readonly IReadOnlyList<SeedProfile> All =
    [
        new("climate", "climate-action stats: CO2 saved per user, country and org boards, rollups such as country_US_2025", 30, user =>
        [
            $"/v1/users/{user}/stats",
            "/v1/leaderboards/co2_saved_kg?scope=country:US&period=month&limit=10",
            "/v1/rollups/by-key/global_all_time",
            $"/v1/users/{user}/goals",
        ]),
        new("learning", "learning platform: answers as events, accuracy per user and per question, top-100 board, 90-day raw retention", 30, user =>
        [
            $"/v1/users/{user}/stats",
            "/v1/ratios/accuracy?scope=question:q7&period=all_time",
            $"/v1/users/{user}/breakdown/topic?sort=ratio:accuracy&min_denominator=5",
            "/v1/ratios/accuracy/values?scope=question&min=0.4&max=0.7&min_denominator=20",
            "/v1/leaderboards/correct?scope=global&period=all_time&limit=100",
            "/v1/goals/sharp",
        ]),
        new("analytics", "analytics API: app events in batches, daily totals per event type", 14, _ =>
        [
            "/v1/rollups/events?scope=global&period=day",
            "/v1/rollups/events?scope=event_type:purchase&period=month",
            "/v1/usage",
        ]),
        new("loyalty", "creator loyalty program: sales and units, bronze to platinum tiers with 4-month checkpoints", 150, user =>
        [
            $"/v1/users/{user}/stats",
            $"/v1/users/{user}/tiers",
            "/v1/leaderboards/sales?scope=global&period=month&limit=10",
            $"/v1/users/{user}/goals",
        ]),
        new("events_log", "raw event collection: an agency's sites send page views, clicks and scrolls to /v1/collect; metering, quality, export", 14, user =>
        [
            "/v1/usage?by=site",
            "/v1/quality",
            "/v1/exports",
            "/v1/rollups/events?scope=site_id:shop.example&period=month",
            "/v1/rollups/events?scope=event_type:page_view&period=month",
            $"/v1/users/{user}/stats",
        ]),
    ];

    public static IEnumerable<string> Names => All.Select(p => p.Name);

    public static SeedProfile Get(string name) =>
        All.FirstOrDefault(p => p.Name == name) ?? throw new CliException($"unknown profile '{name}'; one of: {string.Join(", ", Names)}.");
}
