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
        return ValidateOptionsResult.Success;
    }
}
