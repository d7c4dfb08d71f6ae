namespace Tally.Contracts;

/// <summary>
/// The cluster's one runner of reconciliation and snapshot jobs (key 0). A reminder keeps it alive
/// on some silo; its timers run the jobs on their intervals. Tests and operators may run a job now.
/// </summary>
public interface IMaintenanceGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the keep-alive reminder (idempotent) and starts the job timers.</summary>
    Task Start();

    Task<ReconcileReport> ReconcileNow();

    Task<SnapshotReport> SnapshotNow();

    /// <summary>Wakes every user whose checkpoint decision is due; returns how many were woken.</summary>
    Task<int> CheckpointsNow();

    /// <summary>Prunes every tenant's change feed past its <c>changes.keep_days</c> (never what an active webhook has not
    /// delivered) and makes sure every active webhook's deliverer runs; returns the changes removed.</summary>
    Task<long> ChangesNow();

    /// <summary>Applies every tenant's retention now (export, verify, remove; to the day for raw_events_days); returns the
    /// raw events removed (0 when <c>tally maintain</c> holds the maintenance lock).</summary>
    Task<long> RetentionNow();

    /// <summary>Runs every tenant's continuous export now (whatever its every_minutes) and removes exported events past their
    /// keep_hours; returns the events exported.</summary>
    Task<long> ExportNow();
}

[GenerateSerializer, Immutable]
public sealed record ReconcileReport(
    [property: Id(0)] int UsersChecked,
    [property: Id(1)] int UsersRepublished,
    [property: Id(2)] int CellsHealed,
    [property: Id(3)] DateTimeOffset Watermark);

[GenerateSerializer, Immutable]
public sealed record SnapshotReport(
    [property: Id(0)] long LeaderboardRows,
    [property: Id(1)] long RollupRows,
    [property: Id(2)] long UserSummaryRows,
    [property: Id(3)] long UserDailyRows,
    [property: Id(4)] int BoardsEvicted);
