using Microsoft.Extensions.Options;

namespace Tally.Grains.Boards;

/// <summary>Boards, rollups, reconciliation and snapshots. Section <c>Tally:Boards</c>.</summary>
public sealed class BoardOptions
{
    public const string Section = "Tally:Boards";

    /// <summary>How long a silo gathers users' board updates before sending one batch to each shard.</summary>
    public int PublishIntervalMs { get; set; } = 50;

    /// <summary>
    /// How long a user grain may answer stats reads with the ranks its last read probed, while the user's own cells
    /// are unchanged (0 = probe every read). Ranks then lag other users' moves by up to this much more than the
    /// boards do; boards reflect an event within about a second.
    /// </summary>
    public int StatsRankReuseMs { get; set; } = 500;

    /// <summary>
    /// How long a stats read waits for the board shards' rank counts. The read holds its user's grain meanwhile (its
    /// events wait behind it), so a shard that does not answer (its silo paused or cut off) must cost a read little:
    /// past this the read fails (503 at the API), and for <see cref="RankProbeBackoffMs"/> after, reads of the tenant's
    /// ranks fail at once instead of waiting again.
    /// </summary>
    public int RankProbeTimeoutMs { get; set; } = 1_000;

    /// <summary>How long after a rank probe timed out the tenant's reads with ranks fail at once (see <see cref="RankProbeTimeoutMs"/>).</summary>
    public int RankProbeBackoffMs { get; set; } = 2_000;

    /// <summary>
    /// Days after its period ends that a board stays in memory, exact and moved by late events; after that
    /// it is written to the snapshot tables one last time and read from them. Keep it at or below
    /// <c>Tally:UserGrain:DailyBucketDays</c>: users keep their cells that long, and shards rebuild from them.
    /// </summary>
    public int ClosedBoardGraceDays { get; set; } = 400;

    /// <summary>The same for day and week boards and rollups, which are many (a year has 365 days per scope);
    /// after it they are snapshotted, evicted and their users' cells dropped.</summary>
    public int ClosedDayBoardGraceDays { get; set; } = 35;

    /// <summary>Both graces, as the domain takes them.</summary>
    public Tally.Domain.Boards.BoardGrace Grace => new(ClosedDayBoardGraceDays, ClosedBoardGraceDays);

    /// <summary>How often reconciliation compares the log with saved user state and board shards.</summary>
    public int ReconcileIntervalSeconds { get; set; } = 30;

    /// <summary>Events younger than this are left to the board publishers; reconciliation checks them on a later run.</summary>
    public int ReconcileLagSeconds { get; set; } = 30;

    /// <summary>How often the snapshot tables are written.</summary>
    public int SnapshotIntervalSeconds { get; set; } = 60;

    /// <summary>
    /// The share of its wall time a snapshot run works (1-100): after each piece (one board, a chunk of user summaries)
    /// it rests as long as the piece took times (100 - this) / this (at 25, three times as long), so ingest and reads are not starved by a burst of background
    /// work. 100: no rest. A run then takes longer; what changes meanwhile is written by the next one.
    /// </summary>
    public int SnapshotDutyPercent { get; set; } = 25;

    /// <summary>Users whose summaries are read together (their stats asked at once) and written in one transaction, in a snapshot run.</summary>
    public int SnapshotUserChunk { get; set; } = 200;

    /// <summary>How often the checkpoint scheduler looks for users whose decision is due (users with no events of
    /// their own still reach their checkpoints; their history is stored within this plus a few seconds).</summary>
    public int CheckpointScanSeconds { get; set; } = 15;

    /// <summary>How often the maintenance runner looks for tenants whose continuous export is due (each runs every its own
    /// <c>export.every_minutes</c>) and removes exported events past their <c>keep_hours</c>.</summary>
    public int ExportScanSeconds { get; set; } = 60;

    /// <summary>How often every tenant's retention is applied (raw events past it exported, verified and removed; empty old
    /// partitions dropped; old idempotency keys forgotten), exports going to <c>Tally:Export:Directory</c>. 0 turns the
    /// automatic pass off (then only <c>tally maintain --drop-old-partitions</c> removes anything).</summary>
    public int RetentionIntervalMinutes { get; set; } = 60;

    /// <summary>How often the change feed is pruned past each tenant's <c>changes.keep_days</c>, and every active webhook's
    /// deliverer is made sure to run (a reminder keeps each alive; this catches one that could not be started).</summary>
    public int ChangesMaintenanceSeconds { get; set; } = 300;

    /// <summary>
    /// How long a grain may take to activate before Orleans gives up on it (its own default is 30 s). A board
    /// shard rebuilds its boards from saved states on activation: about 10 s per million cells on 2 cores,
    /// longer under load. Given up, it would start over on the next call and never finish.
    /// </summary>
    public int ActivationTimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// How many board shards a silo rebuilds at once (0: one per core). A rebuild holds its gathered cells beside the
    /// boards it builds, so a silo that loses many shards at once would hold them all; the rest wait their turn.
    /// </summary>
    public int RebuildConcurrency { get; set; }

    /// <summary>Whether this silo runs the cluster-wide maintenance grain (reconciliation, snapshots). Off in some tests.</summary>
    public bool RunMaintenance { get; set; } = true;
}

internal sealed class BoardOptionsValidator : IValidateOptions<BoardOptions>
{
    public ValidateOptionsResult Validate(string? name, BoardOptions o)
    {
        if (o.ExportScanSeconds is < 1 or > 3600)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ExportScanSeconds must be 1-3600, was {o.ExportScanSeconds}.");
        if (o.RetentionIntervalMinutes is < 0 or > 10_080)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:RetentionIntervalMinutes must be 0-10080 (0: off), was {o.RetentionIntervalMinutes}.");
        if (o.ChangesMaintenanceSeconds is < 1 or > 86_400)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ChangesMaintenanceSeconds must be 1-86400, was {o.ChangesMaintenanceSeconds}.");
        if (o.RankProbeTimeoutMs is < 10 or > 60_000)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:RankProbeTimeoutMs must be 10-60000, was {o.RankProbeTimeoutMs}.");
        if (o.RankProbeBackoffMs is < 0 or > 600_000)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:RankProbeBackoffMs must be 0-600000, was {o.RankProbeBackoffMs}.");
        if (o.PublishIntervalMs is < 1 or > 10_000)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:PublishIntervalMs must be 1-10000, was {o.PublishIntervalMs}.");
        if (o.StatsRankReuseMs is < 0 or > 1000)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:StatsRankReuseMs must be 0-1000, was {o.StatsRankReuseMs}.");
        if (o.ClosedBoardGraceDays is < 0 or > 3660)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ClosedBoardGraceDays must be 0-3660, was {o.ClosedBoardGraceDays}.");
        if (o.ClosedDayBoardGraceDays is < 0 or > 3660)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ClosedDayBoardGraceDays must be 0-3660, was {o.ClosedDayBoardGraceDays}.");
        if (o.ReconcileIntervalSeconds is < 1 or > 86_400)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ReconcileIntervalSeconds must be 1-86400, was {o.ReconcileIntervalSeconds}.");
        if (o.ReconcileLagSeconds is < 0 or > 3600)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ReconcileLagSeconds must be 0-3600, was {o.ReconcileLagSeconds}.");
        if (o.CheckpointScanSeconds is < 1 or > 3600)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:CheckpointScanSeconds must be 1-3600, was {o.CheckpointScanSeconds}.");
        if (o.SnapshotIntervalSeconds is < 1 or > 86_400)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:SnapshotIntervalSeconds must be 1-86400, was {o.SnapshotIntervalSeconds}.");
        if (o.SnapshotDutyPercent is < 1 or > 100)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:SnapshotDutyPercent must be 1-100, was {o.SnapshotDutyPercent}.");
        if (o.SnapshotUserChunk is < 1 or > 100_000)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:SnapshotUserChunk must be 1-100000, was {o.SnapshotUserChunk}.");
        if (o.RebuildConcurrency is < 0 or > 256)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:RebuildConcurrency must be 0 (one per core) or 1-256, was {o.RebuildConcurrency}.");
        if (o.ActivationTimeoutSeconds is < 5 or > 3600)
            return ValidateOptionsResult.Fail($"{BoardOptions.Section}:ActivationTimeoutSeconds must be 5-3600, was {o.ActivationTimeoutSeconds}.");
        return ValidateOptionsResult.Success;
    }
}
