using System.Text.Json.Serialization;

namespace Tally.Domain.Config;

/// <summary>
/// A tenant's configuration as stored and as returned by the tenant endpoints. Requests are parsed
/// strictly by <see cref="TenantConfigParser"/> (unknown fields and wrong types are errors naming
/// the field); this type's own JSON form is only used for what the server wrote itself.
/// </summary>
public sealed record TenantConfig
{
    [JsonPropertyName("time_zone")] public string TimeZone { get; init; } = "UTC";
    [JsonPropertyName("measures")] public Dictionary<string, MeasureRule> Measures { get; init; } = new();
    [JsonPropertyName("dimensions")] public List<string> Dimensions { get; init; } = new();
    /// <summary>Dimensions each user keeps per-value sums for (API.md, Breakdowns and ratio values): a learner's topics.</summary>
    [JsonPropertyName("breakdowns"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? Breakdowns { get; init; }
    [JsonPropertyName("leaderboards"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public LeaderboardConfig? Leaderboards { get; init; }
    [JsonPropertyName("rollups"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RollupConfig? Rollups { get; init; }
    [JsonPropertyName("ratios"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, RatioConfig>? Ratios { get; init; }
    [JsonPropertyName("checkpoint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public CheckpointConfig? Checkpoint { get; init; }
    [JsonPropertyName("goals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, GoalConfig>? Goals { get; init; }
    [JsonPropertyName("retention")] public RetentionConfig Retention { get; init; } = new();

    /// <summary>The change feed's retention (API.md, Changes and webhooks).</summary>
    [JsonPropertyName("changes")] public ChangesConfig Changes { get; init; } = new();

    /// <summary>Raw event collection (<c>POST /v1/collect</c>): which web origins may send, and how much of the sender's IP is kept.</summary>
    [JsonPropertyName("collect"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public CollectConfig? Collect { get; init; }

    /// <summary>Continuous export of raw events to the tenant's sink (API.md, Raw event collection).</summary>
    [JsonPropertyName("export"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ExportConfig? Export { get; init; }

    /// <summary>Metering prices (<c>GET /v1/usage</c> adds the month's amount).</summary>
    [JsonPropertyName("billing"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BillingConfig? Billing { get; init; }

    /// <summary>How many board shards hold the tenant's boards and rollups (users are hashed over them). Fixed once set.</summary>
    [JsonPropertyName("board_shards")] public int BoardShards { get; init; } = 4;
}

/// <summary>
/// A measure's accepted range. Unset bounds default to ±<see cref="MeasureBounds.MaxAbsValue"/>, so every
/// sum a measure feeds stays far inside decimal range (see <see cref="MeasureBounds"/>).
/// </summary>
public sealed record MeasureRule
{
    [JsonPropertyName("min"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public decimal? Min { get; init; }
    [JsonPropertyName("max"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public decimal? Max { get; init; }

    /// <summary>The lowest value accepted: <see cref="Min"/>, or the default bound.</summary>
    [JsonIgnore] public decimal EffectiveMin => Min ?? -MeasureBounds.MaxAbsValue;

    /// <summary>The highest value accepted: <see cref="Max"/>, or the default bound.</summary>
    [JsonIgnore] public decimal EffectiveMax => Max ?? MeasureBounds.MaxAbsValue;
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

/// <summary>A derived figure: the numerator measure's sum over the denominator measure's sum.</summary>
public sealed record RatioConfig
{
    [JsonPropertyName("numerator")] public string Numerator { get; init; } = "";
    [JsonPropertyName("denominator")] public string Denominator { get; init; } = "";
}

public sealed record CheckpointConfig
{
    public const string OneTier = "one_tier";
    public const string Recompute = "recompute";

    [JsonPropertyName("measure")] public string Measure { get; init; } = "";
    [JsonPropertyName("months")] public int Months { get; init; } = 4;
    [JsonPropertyName("downgrade")] public string Downgrade { get; init; } = OneTier;
    [JsonPropertyName("grace_days")] public int GraceDays { get; init; }
    [JsonPropertyName("tiers")] public List<TierConfig> Tiers { get; init; } = new();
}

/// <summary>
/// An achievement, mission or badge: a target on one figure of the user in a window, in levels. Exactly one of
/// <see cref="Measure"/> (its sum, or with <see cref="Of"/> = <c>actions</c> the events carrying it), <see cref="Ratio"/>
/// or <see cref="Streak"/> is set.
/// </summary>
public sealed record GoalConfig
{
    public const string OfSum = "sum";
    public const string OfActions = "actions";
    public const string CheckpointWindow = "checkpoint";

    [JsonPropertyName("title"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Title { get; init; }
    [JsonPropertyName("measure"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Measure { get; init; }
    [JsonPropertyName("of"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Of { get; init; }
    [JsonPropertyName("ratio"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Ratio { get; init; }
    [JsonPropertyName("streak"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Streak { get; init; }
    [JsonPropertyName("window"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Window { get; init; }
    [JsonPropertyName("targets")] public List<decimal> Targets { get; init; } = new();
    [JsonPropertyName("min_denominator"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public decimal? MinDenominator { get; init; }
}

public sealed record TierConfig
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("threshold")] public decimal Threshold { get; init; }
}

public sealed record CollectConfig
{
    public const string IpFull = "full", IpTruncated = "truncated", IpNone = "none";

    /// <summary>Origins (<c>https://shop.example</c>) whose pages may send collected events; <c>*</c> allows any.</summary>
    [JsonPropertyName("allowed_origins")] public List<string> AllowedOrigins { get; init; } = new();

    /// <summary><c>full</c>, <c>truncated</c> (default: IPv4 /24, IPv6 /48) or <c>none</c>.</summary>
    [JsonPropertyName("ip")] public string Ip { get; init; } = IpTruncated;
}

public sealed record ExportConfig
{
    [JsonPropertyName("every_minutes")] public int EveryMinutes { get; init; } = 60;
    [JsonPropertyName("delay_minutes")] public int DelayMinutes { get; init; } = 60;
    [JsonPropertyName("keep_hours")] public int KeepHours { get; init; } = 24;
    [JsonPropertyName("sink")] public ExportSink Sink { get; init; } = new();
    [JsonPropertyName("backup_sink"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ExportSink? BackupSink { get; init; }
}

/// <summary>Where an export goes: a directory under the operator's export directory (<c>path</c>), or an S3 bucket.</summary>
public sealed record ExportSink
{
    public const string Directory = "directory", S3 = "s3";

    [JsonPropertyName("type")] public string Type { get; init; } = Directory;
    [JsonPropertyName("path"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Path { get; init; }
    [JsonPropertyName("bucket"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Bucket { get; init; }
    [JsonPropertyName("prefix"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Prefix { get; init; }
    [JsonPropertyName("credentials"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Credentials { get; init; }
}

public sealed record BillingConfig
{
    [JsonPropertyName("price_per_1000_events")] public decimal PricePer1000Events { get; init; }
    [JsonPropertyName("currency")] public string Currency { get; init; } = "USD";

    /// <summary>The amount for a number of accepted events (exact: no rounding).</summary>
    public decimal AmountFor(long events) => events * PricePer1000Events / 1000m;
}

public sealed record ChangesConfig
{
    /// <summary>Changes are kept at least this many days (1-90).</summary>
    [JsonPropertyName("keep_days")] public int KeepDays { get; init; } = 7;
}

public sealed record RetentionConfig
{
    [JsonPropertyName("raw_events_months")] public int RawEventsMonths { get; init; } = 24;

    /// <summary>Short retention in days (the learning platform keeps 90); when set it replaces <see cref="RawEventsMonths"/>.</summary>
    [JsonPropertyName("raw_events_days"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? RawEventsDays { get; init; }

    [JsonPropertyName("dedup_days")] public int DedupDays { get; init; } = 7;

    /// <summary>The oldest instant whose raw events are kept, as of <paramref name="now"/>.</summary>
    public DateTimeOffset OldestKept(DateTimeOffset now) =>
        RawEventsDays is { } days ? now.AddDays(-days) : now.AddMonths(-RawEventsMonths);

    /// <summary>The retention in words, for error messages.</summary>
    [JsonIgnore] public string Description => RawEventsDays is { } days ? $"{days} days" : $"{RawEventsMonths} months";
}
