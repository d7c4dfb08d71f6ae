using Microsoft.Extensions.Options;

namespace Tally.Grains;

/// <summary>User grain persistence and retention. Section <c>Tally:UserGrain</c>.</summary>
public sealed class UserGrainOptions
{
    public const string Section = "Tally:UserGrain";

    /// <summary>Persist state after this many applied events (the log is the truth; this bounds replay).</summary>
    public int PersistEveryEvents { get; set; } = 500;

    /// <summary>Persist changed state at least this often. Keep it below <c>Tally:Boards:ReconcileLagSeconds</c>
    /// (30 s): reconciliation makes users whose saved state is older than its window save at once.</summary>
    public int PersistIntervalSeconds { get; set; } = 20;

    /// <summary>Days of daily (and weekly) buckets kept for <c>?at=</c> reads.</summary>
    public int DailyBucketDays { get; set; } = 400;

    /// <summary>A user grain left idle this long is deactivated (Orleans' collection age for the user grain type; its
    /// state is saved first). A returning user costs one batched state read. 0.5-1440 (30 seconds to a day); under two
    /// minutes Orleans' collection quantum is made shorter too (<see cref="CollectionQuantum"/>).</summary>
    public double IdleMinutes { get; set; } = 15;

    /// <summary>How often Orleans looks for idle grains: its default minute, or half the user grain's idle age when that is
    /// shorter (Orleans refuses an age that is not above the quantum, and collects a grain up to a quantum late).</summary>
    internal static TimeSpan CollectionQuantum(double idleMinutes) => TimeSpan.FromSeconds(Math.Min(60, idleMinutes * 60 / 2));

    /// <summary>
    /// When the silo's managed heap passes this share of the memory available to it (the machine's, or the container's
    /// limit), Orleans deactivates the grains idle longest, user grains nearly all of them, until the heap is 5 points
    /// under (Orleans' activation shedding). A user grain holds about 7 KB, so without it ten million users touched
    /// within <see cref="IdleMinutes"/> would need about 70 GB. 0 turns it off.
    /// </summary>
    public int MemoryLimitPercent { get; set; } = 40;
}

internal sealed class UserGrainOptionsValidator : IValidateOptions<UserGrainOptions>
{
    public ValidateOptionsResult Validate(string? name, UserGrainOptions o)
    {
        if (o.PersistEveryEvents is < 1 or > 1_000_000)
            return ValidateOptionsResult.Fail($"{UserGrainOptions.Section}:PersistEveryEvents must be 1-1000000, was {o.PersistEveryEvents}.");
        if (o.PersistIntervalSeconds is < 1 or > 3600)
            return ValidateOptionsResult.Fail($"{UserGrainOptions.Section}:PersistIntervalSeconds must be 1-3600, was {o.PersistIntervalSeconds}.");
        if (o.DailyBucketDays is < 7 or > 3660)
            return ValidateOptionsResult.Fail($"{UserGrainOptions.Section}:DailyBucketDays must be 7-3660, was {o.DailyBucketDays}.");
        if (double.IsNaN(o.IdleMinutes) || o.IdleMinutes is < 0.5 or > 1440)
            return ValidateOptionsResult.Fail($"{UserGrainOptions.Section}:IdleMinutes must be 0.5-1440 (30 seconds to a day), was {o.IdleMinutes}.");
        if (o.MemoryLimitPercent != 0 && o.MemoryLimitPercent is < 10 or > 95)
            return ValidateOptionsResult.Fail($"{UserGrainOptions.Section}:MemoryLimitPercent must be 0 (off) or 10-95, was {o.MemoryLimitPercent}.");
        return ValidateOptionsResult.Success;
    }
}
