using System.Text.RegularExpressions;
using Tally.Domain.Time;

namespace Tally.Domain.Config;

/// <summary>Checks a parsed tenant config before it is stored; the first problem found is returned, naming its field.</summary>
public static partial class TenantConfigValidator
{
    public static readonly string[] AllPeriods = ["all_time", "year", "month", "week", "day"];

    public const int MaxTiers = 20;
    public const int MaxGraceDays = 31;
    public const int MaxGoals = 100;
    public const int MaxGoalTargets = 10;
    public const int MaxGoalTitleLength = 200;

    /// <summary>The windows a measure or ratio goal may name: the calendar's periods and the checkpoint window.</summary>
    public static readonly string[] GoalWindows = ["all_time", "year", "month", "week", "day", GoalConfig.CheckpointWindow];

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex TenantIdRegex();

    [GeneratedRegex("^[a-z0-9_]{1,64}$")]
    private static partial Regex GoalIdRegex();

    public static bool IsValidTenantId(string tenantId) => TenantIdRegex().IsMatch(tenantId);

    public static ValidationError? Validate(TenantConfig config)
    {
        if (TenantCalendar.TryFindZone(config.TimeZone) is null)
            return new("invalid_time_zone", $"'{JsonText.Printable(config.TimeZone)}' is not a known IANA time zone.", "time_zone");
        if (ValidateMeasures(config) is { } measureError) return measureError;
        var dims = config.Dimensions;
        for (var i = 0; i < dims.Count; i++)
        {
            if (!NameRegex().IsMatch(dims[i]) || dims[i] == "global")
                return new("invalid_name", "Dimension names are 1-64 chars of [a-z0-9_], starting with a letter, and not 'global'.", $"dimensions[{i}]");
            if (dims.IndexOf(dims[i]) != i)
                return new("duplicate_name", $"Dimension '{dims[i]}' is declared twice.", $"dimensions[{i}]");
        }
        if (ValidateBreakdowns(config) is { } breakdownError) return breakdownError;
        if (config.Leaderboards is { } boards)
        {
            for (var i = 0; i < boards.Measures.Count; i++)
                if (!config.Measures.ContainsKey(boards.Measures[i]))
                    return new("unknown_measure", $"'{JsonText.Printable(boards.Measures[i])}' is not a declared measure.", $"leaderboards.measures[{i}]");
            if (CheckScopesAndPeriods(boards.Scopes, boards.Periods, dims, "leaderboards") is { } error) return error;
            if (boards.SnapshotTop is < 1 or > 1_000_000)
                return new("out_of_range", "snapshot_top must be between 1 and 1,000,000.", "leaderboards.snapshot_top");
        }
        if (config.Rollups is { } rollups && CheckScopesAndPeriods(rollups.Scopes, rollups.Periods, dims, "rollups") is { } rollupError)
            return rollupError;
        if (ValidateRatios(config) is { } ratioError) return ratioError;
        if (config.Checkpoint is { } checkpoint && ValidateCheckpoint(config, checkpoint) is { } checkpointError) return checkpointError;
        if (ValidateGoals(config) is { } goalError) return goalError;
        if (config.BoardShards is < 1 or > 256)
            return new("out_of_range", "board_shards must be between 1 and 256.", "board_shards");
        var retention = config.Retention;
        if (retention.RawEventsMonths is < 1 or > 240)
            return new("out_of_range", "raw_events_months must be between 1 and 240.", "retention.raw_events_months");
        if (retention.RawEventsDays is < 1 or > 7300)
            return new("out_of_range", "raw_events_days must be between 1 and 7300.", "retention.raw_events_days");
        if (retention.DedupDays is < 1 or > 3650)
            return new("out_of_range", "dedup_days must be between 1 and 3650.", "retention.dedup_days");
        if (config.Collect is { } collect && ValidateCollect(collect) is { } collectError) return collectError;
        if (config.Export is { } export && ValidateExport(export) is { } exportError) return exportError;
        if (config.Billing is { } billing)
        {
            if (billing.PricePer1000Events is < 0 or > 1_000_000)
                return new("out_of_range", "price_per_1000_events must be between 0 and 1,000,000.", "billing.price_per_1000_events");
            if (billing.Currency.Length != 3 || !billing.Currency.All(char.IsAsciiLetterUpper))
                return new("invalid_value", "currency is an ISO 4217 code of three capital letters, like USD.", "billing.currency");
        }
        if (config.Changes.KeepDays is < 1 or > 90)
            return new("out_of_range", "keep_days must be between 1 and 90.", "changes.keep_days");
        return null;
    }

    private static ValidationError? ValidateMeasures(TenantConfig config)
    {
        if (config.Measures.Count == 0)
            return new("invalid_config", "At least one measure must be declared.", "measures");
        foreach (var (name, rule) in config.Measures)
        {
            if (!NameRegex().IsMatch(name))
                return new("invalid_name", "Measure names are 1-64 chars of [a-z0-9_], starting with a letter.", $"measures.{JsonText.Printable(name)}");
            if (rule.Min is { } min && Math.Abs(min) > MeasureBounds.MaxAbsValue)
                return new("out_of_range", $"min must be within ±{MeasureBounds.MaxAbsValue:0}.", $"measures.{name}.min");
            if (rule.Max is { } max && Math.Abs(max) > MeasureBounds.MaxAbsValue)
                return new("out_of_range", $"max must be within ±{MeasureBounds.MaxAbsValue:0}.", $"measures.{name}.max");
            if (rule.EffectiveMin > rule.EffectiveMax)
                return new("invalid_range", "min must not exceed max.", $"measures.{name}.min");
        }
        return null;
    }

    private static ValidationError? ValidateExport(ExportConfig export)
    {
        if (export.EveryMinutes is < 1 or > 1440) return new("out_of_range", "every_minutes must be between 1 and 1,440.", "export.every_minutes");
        if (export.DelayMinutes is < 0 or > 1440) return new("out_of_range", "delay_minutes must be between 0 and 1,440.", "export.delay_minutes");
        if (export.KeepHours is < 0 or > 720) return new("out_of_range", "keep_hours must be between 0 and 720.", "export.keep_hours");
        return ValidateSink(export.Sink, "export.sink") ?? (export.BackupSink is { } backup ? ValidateSink(backup, "export.backup_sink") : null);
    }

    private static ValidationError? ValidateSink(ExportSink sink, string field)
    {
        if (sink.Type == ExportSink.S3) return ValidateS3Sink(sink, field);
        if (sink.Type != ExportSink.Directory)
            return new("invalid_value", "A sink's type is directory or s3.", field + ".type");
        if (sink.Bucket is not null || sink.Prefix is not null || sink.Credentials is not null)
            return new("unknown_field", "A directory sink takes type and path only.", field);
        var path = sink.Path;
        if (string.IsNullOrWhiteSpace(path) || path.Length > 200)
            return new("missing_field", "A directory sink's path (1-200 chars, relative to the operator's export directory) is required.", field + ".path");
        return IsRelativePath(path) ? null
            : new("invalid_path", "path is relative to the operator's export directory: no leading /, no drive, no empty parts or parts starting with '.' ('..', '.staging').", field + ".path");
    }

    private static ValidationError? ValidateS3Sink(ExportSink sink, string field)
    {
        if (sink.Path is not null) return new("unknown_field", "An s3 sink takes type, bucket, prefix and credentials (no path).", field + ".path");
        // S3's bucket naming rules: 3-63 chars of lower-case letters, digits, dots and hyphens, a letter or digit at each end.
        if (sink.Bucket is not { Length: >= 3 and <= 63 } bucket || !bucket.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '-')
            || !char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]) || bucket.Contains(".."))
            return new("invalid_value", "bucket is required: 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit.",
                field + ".bucket");
        if (sink.Prefix is { } prefix && (prefix.Length is 0 or > 200 || !IsRelativePath(prefix.TrimEnd('/'))))
            return new("invalid_path", "prefix is 1-200 chars of key path: no leading /, no empty parts or parts starting with '.'.", field + ".prefix");
        if (sink.Credentials is not { Length: >= 1 and <= 100 } credentials || !credentials.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            return new("missing_field", "credentials names a credential set of the operator's configuration (1-100 chars of [A-Za-z0-9_.-]).",
                field + ".credentials");
        return null;
    }

    private static bool IsRelativePath(string path) =>
        !(System.IO.Path.IsPathRooted(path) || path.StartsWith('/') || path.StartsWith('\\') || path.Contains(':')
          || path.Split('/', '\\').Any(part => part.Length == 0 || part.StartsWith('.')));

    private static ValidationError? ValidateCollect(CollectConfig collect)
    {
        if (collect.Ip is not (CollectConfig.IpFull or CollectConfig.IpTruncated or CollectConfig.IpNone))
            return new("invalid_value", "ip must be full, truncated or none.", "collect.ip");
        if (collect.AllowedOrigins.Count > 100)
            return new("out_of_range", "At most 100 allowed origins.", "collect.allowed_origins");
        for (var i = 0; i < collect.AllowedOrigins.Count; i++)
        {
            var origin = collect.AllowedOrigins[i];
            if (origin == "*") continue;
            // An origin is scheme://host[:port], nothing after: what a browser sends in the Origin header.
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.GetLeftPart(UriPartial.Authority) != origin)
                return new("invalid_origin", $"'{JsonText.Printable(origin)}' is not an origin like https://shop.example (scheme, host and port only), or '*'.",
                    $"collect.allowed_origins[{i}]");
        }
        return null;
    }

    /// <summary>At most this many dimensions may be broken down per user (API.md).</summary>
    public const int MaxBreakdowns = 4;

    private static ValidationError? ValidateBreakdowns(TenantConfig config)
    {
        if (config.Breakdowns is not { } breakdowns) return null;
        if (breakdowns.Count > MaxBreakdowns)
            return new("out_of_range", $"At most {MaxBreakdowns} dimensions may be broken down; this config has {breakdowns.Count}.", "breakdowns");
        if (breakdowns.Count > 0 && config.Measures.Count > Stats.Breakdowns.MaxMeasures)
            return new("out_of_range", $"Breakdowns keep at most {Stats.Breakdowns.MaxMeasures} measures; this config declares {config.Measures.Count}.", "breakdowns");
        for (var i = 0; i < breakdowns.Count; i++)
        {
            if (!config.Dimensions.Contains(breakdowns[i]))
                return new("unknown_dimension", $"'{JsonText.Printable(breakdowns[i])}' is not a declared dimension.", $"breakdowns[{i}]");
            if (breakdowns.IndexOf(breakdowns[i]) != i)
                return new("duplicate_name", $"Dimension '{breakdowns[i]}' is broken down twice.", $"breakdowns[{i}]");
        }
        return null;
    }

    private static ValidationError? ValidateRatios(TenantConfig config)
    {
        if (config.Ratios is not { } ratios) return null;
        foreach (var (name, ratio) in ratios)
        {
            if (!NameRegex().IsMatch(name))
                return new("invalid_name", "Ratio names are 1-64 chars of [a-z0-9_], starting with a letter.", $"ratios.{JsonText.Printable(name)}");
            if (!config.Measures.ContainsKey(ratio.Numerator))
                return new("unknown_measure", $"'{JsonText.Printable(ratio.Numerator)}' is not a declared measure.", $"ratios.{name}.numerator");
            if (!config.Measures.ContainsKey(ratio.Denominator))
                return new("unknown_measure", $"'{JsonText.Printable(ratio.Denominator)}' is not a declared measure.", $"ratios.{name}.denominator");
        }
        return null;
    }

    private static ValidationError? ValidateCheckpoint(TenantConfig config, CheckpointConfig checkpoint)
    {
        if (!config.Measures.ContainsKey(checkpoint.Measure))
            return new("unknown_measure", $"'{JsonText.Printable(checkpoint.Measure)}' is not a declared measure.", "checkpoint.measure");
        if (checkpoint.Months is < 1 or > 120)
            return new("out_of_range", "months must be between 1 and 120.", "checkpoint.months");
        if (checkpoint.Downgrade is not (CheckpointConfig.OneTier or CheckpointConfig.Recompute))
            return new("invalid_value", "downgrade must be 'one_tier' or 'recompute'.", "checkpoint.downgrade");
        if (checkpoint.GraceDays is < 0 or > MaxGraceDays)
            return new("out_of_range", $"grace_days must be between 0 and {MaxGraceDays}.", "checkpoint.grace_days");
        var tiers = checkpoint.Tiers;
        if (tiers.Count is 0 or > MaxTiers)
            return new("out_of_range", $"checkpoint.tiers must hold 1 to {MaxTiers} tiers.", "checkpoint.tiers");
        for (var i = 0; i < tiers.Count; i++)
        {
            var tier = tiers[i];
            if (tier.Name.Length is 0 or > 64 || tier.Name.Trim().Length != tier.Name.Length)
                return new("invalid_name", "Tier names are 1-64 characters without leading or trailing spaces.", $"checkpoint.tiers[{i}].name");
            for (var j = 0; j < i; j++)
                if (tiers[j].Name == tier.Name)
                    return new("duplicate_name", $"Tier '{tier.Name}' is declared twice.", $"checkpoint.tiers[{i}].name");
            if (Math.Abs(tier.Threshold) > MeasureBounds.MaxAbsUserSum)
                return new("out_of_range", $"threshold must be within ±{MeasureBounds.MaxAbsUserSum:0}.", $"checkpoint.tiers[{i}].threshold");
            if (i > 0 && tier.Threshold <= tiers[i - 1].Threshold)
                return new("invalid_config", "Tier thresholds must strictly increase.", $"checkpoint.tiers[{i}].threshold");
        }
        return null;
    }

    private static ValidationError? ValidateGoals(TenantConfig config)
    {
        if (config.Goals is not { } goals) return null;
        if (goals.Count > MaxGoals)
            return new("out_of_range", $"At most {MaxGoals} goals may be declared; this config has {goals.Count}.", "goals");
        foreach (var (id, goal) in goals)
        {
            var at = $"goals.{JsonText.Printable(id)}";
            if (!GoalIdRegex().IsMatch(id))
                return new("invalid_name", "Goal ids are 1-64 chars of [a-z0-9_].", at);
            if (ValidateGoal(config, goal, at) is { } error) return error;
        }
        return null;
    }

    private static ValidationError? ValidateGoal(TenantConfig config, GoalConfig goal, string at)
    {
        if (goal.Title is { Length: > MaxGoalTitleLength })
            return new("out_of_range", $"title must be at most {MaxGoalTitleLength} characters.", at + ".title");
        var kinds = (goal.Measure is null ? 0 : 1) + (goal.Ratio is null ? 0 : 1) + (goal.Streak is null ? 0 : 1);
        if (kinds != 1)
            return new("invalid_config", "A goal has exactly one of measure, ratio or streak: true.", at);
        if (goal.Streak == false)
            return new("invalid_value", "streak must be true (a streak goal counts the user's longest streak of active days).", at + ".streak");
        if (goal.Measure is { } measure && !config.Measures.ContainsKey(measure))
            return new("unknown_measure", $"'{JsonText.Printable(measure)}' is not a declared measure.", at + ".measure");
        if (goal.Ratio is { } ratio && config.Ratios?.ContainsKey(ratio) != true)
            return new("unknown_ratio", $"'{JsonText.Printable(ratio)}' is not a declared ratio.", at + ".ratio");
        if (goal.Of is { } of && (goal.Measure is null || of is not (GoalConfig.OfSum or GoalConfig.OfActions)))
            return new("invalid_value", goal.Measure is null ? "of applies to measure goals only." : "of must be 'sum' or 'actions'.", at + ".of");
        if (goal.MinDenominator is { } min && (goal.Ratio is null || min < 1 || min > MeasureBounds.MaxAbsUserSum))
            return new(goal.Ratio is null ? "invalid_config" : "out_of_range",
                goal.Ratio is null ? "min_denominator applies to ratio goals only." : "min_denominator must be at least 1.", at + ".min_denominator");
        if (goal.Window is { } window)
        {
            if (goal.Streak is not null)
                return new("invalid_config", "Streak goals take no window: their progress is the user's longest streak.", at + ".window");
            if (Array.IndexOf(GoalWindows, window) < 0)
                return new("invalid_value", "window must be all_time, year, month, week, day or checkpoint.", at + ".window");
            if (window == GoalConfig.CheckpointWindow && config.Checkpoint is null)
                return new("invalid_config", "A checkpoint window needs the tenant's checkpoint config.", at + ".window");
        }
        var targets = goal.Targets;
        if (targets.Count is 0 or > MaxGoalTargets)
            return new("out_of_range", $"targets must hold 1 to {MaxGoalTargets} numbers, one per level.", at + ".targets");
        for (var i = 0; i < targets.Count; i++)
        {
            if (targets[i] <= 0 || targets[i] > MeasureBounds.MaxAbsUserSum)
                return new("out_of_range", $"Every target must be above 0 and at most {MeasureBounds.MaxAbsUserSum:0}.", at + ".targets");
            if (i > 0 && targets[i] <= targets[i - 1])
                return new("invalid_config", "targets must strictly increase: level n+1 is harder than level n.", at + ".targets");
        }
        return null;
    }

    private static ValidationError? CheckScopesAndPeriods(List<string> scopes, List<string> periods, List<string> dims, string section)
    {
        for (var i = 0; i < scopes.Count; i++)
            if (scopes[i] != "global" && !dims.Contains(scopes[i]))
                return new("unknown_scope", $"Scope '{JsonText.Printable(scopes[i])}' is neither 'global' nor a declared dimension.", $"{section}.scopes[{i}]");
        for (var i = 0; i < periods.Count; i++)
            if (Array.IndexOf(AllPeriods, periods[i]) < 0)
                return new("unknown_period", $"Period '{JsonText.Printable(periods[i])}' is not one of all_time, year, month, week, day.", $"{section}.periods[{i}]");
        return null;
    }
}
