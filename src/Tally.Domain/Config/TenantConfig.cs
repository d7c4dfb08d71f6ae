using System.Text.Json.Serialization;

namespace Tally.Domain.Config;

/// <summary>A tenant's configuration as stored and as accepted by <c>PUT /v1/tenants/{id}</c>.</summary>
public sealed record TenantConfig
{
    [JsonPropertyName("time_zone")] public string TimeZone { get; init; } = "UTC";
    [JsonPropertyName("measures")] public Dictionary<string, MeasureRule> Measures { get; init; } = new();
    [JsonPropertyName("dimensions")] public List<string> Dimensions { get; init; } = new();
    [JsonPropertyName("leaderboards")] public LeaderboardConfig? Leaderboards { get; init; }
    [JsonPropertyName("rollups")] public RollupConfig? Rollups { get; init; }
    [JsonPropertyName("checkpoint")] public CheckpointConfig? Checkpoint { get; init; }
    [JsonPropertyName("retention")] public RetentionConfig Retention { get; init; } = new();

    /// <summary>How many board shards hold the tenant's boards and rollups (users are hashed over them). Fixed once set.</summary>
    [JsonPropertyName("board_shards")] public int BoardShards { get; init; } = 4;
}

public sealed record MeasureRule
{
    [JsonPropertyName("min")] public decimal? Min { get; init; }
    [JsonPropertyName("max")] public decimal? Max { get; init; }
}

public sealed record LeaderboardConfig
{
    [JsonPropertyName("measures")] public List<string> Measures { get; init; } = new();
    [JsonPropertyName("scopes")] public List<string> Scopes { get; init; } = new() { "global" };
    [JsonPropertyName("periods")] public List<string> Periods { get; init; } = new() { "all_time" };
    [JsonPropertyName("snapshot_top")] public int SnapshotTop { get; init; } = 10_000;
}

public sealed record RollupConfig
{
    [JsonPropertyName("scopes")] public List<string> Scopes { get; init; } = new() { "global" };
    [JsonPropertyName("periods")] public List<string> Periods { get; init; } = new() { "all_time" };
}

public sealed record CheckpointConfig
{
    [JsonPropertyName("measure")] public string Measure { get; init; } = "";
    [JsonPropertyName("months")] public int Months { get; init; } = 4;
    [JsonPropertyName("tiers")] public List<TierConfig> Tiers { get; init; } = new();
}

public sealed record TierConfig
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("threshold")] public decimal Threshold { get; init; }
}

public sealed record RetentionConfig
{
    [JsonPropertyName("raw_events_months")] public int RawEventsMonths { get; init; } = 24;
    [JsonPropertyName("dedup_days")] public int DedupDays { get; init; } = 7;
}
