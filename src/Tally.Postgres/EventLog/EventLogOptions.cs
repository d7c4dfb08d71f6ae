using Microsoft.Extensions.Options;

namespace Tally.Postgres.EventLog;

/// <summary>Group commit of the per-silo event-log writer. Section <c>Tally:EventLog</c>.</summary>
internal sealed class EventLogOptions
{
    public const string Section = "Tally:EventLog";

    /// <summary>Most rows written in one transaction.</summary>
    public int MaxBatchRows { get; set; } = 5000;

    /// <summary>How long the writer lingers after the first row of a batch for more rows to join.</summary>
    public int LingerMs { get; set; } = 2;

    /// <summary>Commits in flight at once; while one commits the next batch fills.</summary>
    public int MaxConcurrentCommits { get; set; } = 2;

    /// <summary>
    /// Most rows waiting for or inside a commit; beyond it new calls are refused at once (503 overloaded,
    /// nothing written) instead of queuing past their callers' timeouts. About two seconds of commits.
    /// </summary>
    public int MaxQueuedRows { get; set; } = 50_000;

    /// <summary>Most users whose replay after activation is read in one query (the reader lingers <see cref="LingerMs"/> too).</summary>
    public int MaxReplayUsers { get; set; } = 500;

    /// <summary>
    /// PostgreSQL ends a commit that sits idle, or runs one statement, longer than this. A commit takes milliseconds; one
    /// left open by a silo that stopped mid-commit (paused, cut off) holds its silo's fence lock, which declaring that silo
    /// dead waits for, and the idempotency keys it claims, which a retry through another silo waits for. Keep it well below
    /// the time membership takes to declare a silo dead (about 12 s, decision 029).
    /// </summary>
    public int StalledCommitSeconds { get; set; } = 5;
}

internal sealed class EventLogOptionsValidator : IValidateOptions<EventLogOptions>
{
    public ValidateOptionsResult Validate(string? name, EventLogOptions o)
    {
        if (o.MaxBatchRows is < 1 or > 100_000)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:MaxBatchRows must be 1-100000, was {o.MaxBatchRows}.");
        if (o.LingerMs is < 0 or > 1000)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:LingerMs must be 0-1000, was {o.LingerMs}.");
        if (o.MaxConcurrentCommits is < 1 or > 16)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:MaxConcurrentCommits must be 1-16, was {o.MaxConcurrentCommits}.");
        if (o.MaxQueuedRows is < 1 or > 10_000_000)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:MaxQueuedRows must be 1-10000000, was {o.MaxQueuedRows}.");
        if (o.StalledCommitSeconds is < 1 or > 600)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:StalledCommitSeconds must be 1-600, was {o.StalledCommitSeconds}.");
        if (o.MaxReplayUsers is < 1 or > 10_000)
            return ValidateOptionsResult.Fail($"{EventLogOptions.Section}:MaxReplayUsers must be 1-10000, was {o.MaxReplayUsers}.");
        return ValidateOptionsResult.Success;
    }
}
