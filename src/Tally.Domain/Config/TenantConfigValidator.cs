using System.Text.RegularExpressions;
using Tally.Domain.Time;

namespace Tally.Domain.Config;

/// <summary>Checks a tenant config before it is stored; the first problem found is returned.</summary>
public static partial class TenantConfigValidator
{
    public static readonly string[] AllPeriods = ["all_time", "year", "month", "week", "day"];

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex TenantIdRegex();

    public static bool IsValidTenantId(string tenantId) => TenantIdRegex().IsMatch(tenantId);

    public static ValidationError? Validate(TenantConfig config)
    {
        if (TenantCalendar.TryFindZone(config.TimeZone) is null)
            return new("invalid_time_zone", $"'{config.TimeZone}' is not a known IANA time zone.", "time_zone");
        if (config.Measures is null || config.Measures.Count == 0)
            return new("invalid_config", "At least one measure must be declared.", "measures");
        foreach (var (name, rule) in config.Measures)
        {
            if (!NameRegex().IsMatch(name))
                return new("invalid_name", "Measure names are 1-64 chars of [a-z0-9_], starting with a letter.", $"measures.{name}");
            if (rule is null)
                return new("invalid_config", "A measure needs an object with optional min and max.", $"measures.{name}");
            if (rule.Min is { } min && rule.Max is { } max && min > max)
                return new("invalid_range", "min must not exceed max.", $"measures.{name}.min");
        }
        var dims = config.Dimensions ?? [];
        for (var i = 0; i < dims.Count; i++)
        {
            if (dims[i] is null || !NameRegex().IsMatch(dims[i]) || dims[i] == "global")
                return new("invalid_name", "Dimension names are 1-64 chars of [a-z0-9_], starting with a letter, and not 'global'.", $"dimensions[{i}]");
            if (dims.IndexOf(dims[i]) != i)
                return new("duplicate_name", $"Dimension '{dims[i]}' is declared twice.", $"dimensions[{i}]");
        }
        if (config.Leaderboards is { } boards)
        {
            for (var i = 0; i < boards.Measures.Count; i++)
                if (!config.Measures.ContainsKey(boards.Measures[i]))
                    return new("unknown_measure", $"'{boards.Measures[i]}' is not a declared measure.", $"leaderboards.measures[{i}]");
            if (CheckScopesAndPeriods(boards.Scopes, boards.Periods, dims, "leaderboards") is { } error) return error;
            if (boards.SnapshotTop is < 1 or > 1_000_000)
                return new("out_of_range", "snapshot_top must be between 1 and 1,000,000.", "leaderboards.snapshot_top");
        }
        if (config.Rollups is { } rollups && CheckScopesAndPeriods(rollups.Scopes, rollups.Periods, dims, "rollups") is { } rollupError)
            return rollupError;
        if (config.Checkpoint is { } checkpoint)
        {
            if (!config.Measures.ContainsKey(checkpoint.Measure))
                return new("unknown_measure", $"'{checkpoint.Measure}' is not a declared measure.", "checkpoint.measure");
            if (checkpoint.Months is < 1 or > 120)
                return new("out_of_range", "months must be between 1 and 120.", "checkpoint.months");
            if (checkpoint.Tiers.Count == 0)
                return new("invalid_config", "At least one tier is required.", "checkpoint.tiers");
            for (var i = 1; i < checkpoint.Tiers.Count; i++)
                if (checkpoint.Tiers[i].Threshold <= checkpoint.Tiers[i - 1].Threshold)
                    return new("invalid_config", "Tier thresholds must strictly increase.", $"checkpoint.tiers[{i}].threshold");
        }
        if (config.BoardShards is < 1 or > 256)
            return new("out_of_range", "board_shards must be between 1 and 256.", "board_shards");
        if (config.Retention is { } retention)
        {
            if (retention.RawEventsMonths is < 1 or > 240)
                return new("out_of_range", "raw_events_months must be between 1 and 240.", "retention.raw_events_months");
            if (retention.DedupDays is < 1 or > 3650)
                return new("out_of_range", "dedup_days must be between 1 and 3650.", "retention.dedup_days");
        }
        return null;
    }

    private static ValidationError? CheckScopesAndPeriods(List<string> scopes, List<string> periods, List<string> dims, string section)
    {
        for (var i = 0; i < scopes.Count; i++)
            if (scopes[i] != "global" && !dims.Contains(scopes[i]))
                return new("unknown_scope", $"Scope '{scopes[i]}' is neither 'global' nor a declared dimension.", $"{section}.scopes[{i}]");
        for (var i = 0; i < periods.Count; i++)
            if (Array.IndexOf(AllPeriods, periods[i]) < 0)
                return new("unknown_period", $"Period '{periods[i]}' is not one of all_time, year, month, week, day.", $"{section}.periods[{i}]");
        return null;
    }
}
