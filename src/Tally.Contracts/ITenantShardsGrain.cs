using Orleans.Concurrency;

namespace Tally.Contracts;

/// <summary>
/// A tenant's board shards (key: the tenant id): where the active ones run, and changing how many there are without
/// losing a rank (decision 042). Reshardings of one tenant run one at a time; a run cut short may be run again.
/// </summary>
public interface ITenantShardsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Changes the tenant's shard count: the new count goes into its config, every process routes by it, the saved
    /// states move to their new shards, and every shard of the tenant is rebuilt from them before it returns. Null when
    /// the tenant does not exist or is being removed. Takes about 16 s plus the rewrite (chunks of 10,000 users) and
    /// the rebuilds.
    /// </summary>
    [ResponseTimeout("01:00:00")]
    Task<ReshardReport?> Reshard(int boardShards);

    /// <summary>Each active shard of the tenant: its silo and what it holds. Wakes no inactive shard (one that deactivates
    /// while it is listed is woken); answers during a resharding.</summary>
    [AlwaysInterleave]
    Task<ShardPlacement[]> Placement();
}

/// <summary>What a resharding did: saved users read and moved (of them, moved by the second pass: saves in flight
/// when the count changed), and how many of the new count's shards answered rebuilt.</summary>
[GenerateSerializer, Immutable]
public sealed record ReshardReport(
    [property: Id(0)] int PreviousShards,
    [property: Id(1)] int Shards,
    [property: Id(2)] long Users,
    [property: Id(3)] long UsersMoved,
    [property: Id(4)] int ShardsRebuilt,
    [property: Id(5)] long UsersMovedLate,
    [property: Id(6)] long ElapsedMs);

/// <summary>An active board shard: the silo it runs on, its members, boards and cells, and when it was activated (rebuilt).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardPlacement(
    [property: Id(0)] int Shard,
    [property: Id(1)] string Silo,
    [property: Id(2)] int Members,
    [property: Id(3)] int Boards,
    [property: Id(4)] long Cells,
    [property: Id(5)] DateTimeOffset ActivatedAt);
