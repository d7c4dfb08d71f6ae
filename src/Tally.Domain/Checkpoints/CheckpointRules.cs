using Tally.Domain.Config;

namespace Tally.Domain.Checkpoints;

/// <summary>How a downgrade at a checkpoint picks the new tier.</summary>
public enum DowngradeRule : byte
{
    /// <summary>Down one tier.</summary>
    OneTier = 0,

    /// <summary>To the highest tier whose threshold the window's sum reaches.</summary>
    Recompute = 1,
}

/// <summary>
/// A tenant's checkpoint config, resolved for the timeline: the measure that decides, the window length,
/// the grace, the tiers (index 0 is the entry tier) and the calendar that window ends are computed in.
/// </summary>
public sealed class CheckpointRules
{
    public CheckpointRules(CheckpointConfig config, TimeZoneInfo zone, IReadOnlyList<string> measures, int era = 0)
    {
        Era = era;
        Measure = config.Measure;
        Months = config.Months;
        GraceDays = config.GraceDays;
        Downgrade = config.Downgrade == CheckpointConfig.Recompute ? DowngradeRule.Recompute : DowngradeRule.OneTier;
        TierNames = config.Tiers.Select(t => t.Name).ToArray();
        Thresholds = config.Tiers.Select(t => t.Threshold).ToArray();
        Zone = zone;
        Measures = measures;
    }

    /// <summary>Which checkpoint era of the tenant these rules belong to; a timeline of another era is dropped.</summary>
    public int Era { get; }

    public string Measure { get; }
    public int Months { get; }
    public int GraceDays { get; }
    public DowngradeRule Downgrade { get; }
    public string[] TierNames { get; }
    public decimal[] Thresholds { get; }
    public TimeZoneInfo Zone { get; }

    /// <summary>Every declared measure: a window's sums are kept (and shown) for each.</summary>
    public IReadOnlyList<string> Measures { get; }

    /// <summary>The end of a window that starts at <paramref name="start"/>: the same local date and time
    /// <see cref="Months"/> later (clamped to the month's last day).</summary>
    public DateTimeOffset WindowEnd(DateTimeOffset start) => LocalTime.AddMonths(start, Months, Zone);

    /// <summary>When a window ending at <paramref name="end"/> is decided: its end, or <see cref="GraceDays"/> local days later.</summary>
    public DateTimeOffset DecisionAt(DateTimeOffset end) => GraceDays == 0 ? end : LocalTime.AddDays(end, GraceDays, Zone);

    /// <summary>The highest tier whose threshold <paramref name="sum"/> reaches (the entry tier at least).</summary>
    public int HighestReached(decimal sum)
    {
        var tier = 0;
        for (var i = 1; i < Thresholds.Length; i++)
            if (sum >= Thresholds[i]) tier = i;
        return tier;
    }

    /// <summary>Index of a tier by name, or -1.</summary>
    public int IndexOf(string tierName) => Array.IndexOf(TierNames, tierName);
}
