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
    /// states move to their new shards, and every shard of the tenant rebuilds from them. Null when the tenant does not
    /// exist or is being removed. A large tenant takes a while (saved states are read and rewritten in chunks).
    /// </summary>
    [ResponseTimeout("01:00:00")]
    Task<ReshardReport?> Reshard(int boardShards);

    /// <summary>Each active shard of the tenant: its silo and what it holds. Wakes none; answers during a resharding.</summary>
    [AlwaysInterleave]
    Task<ShardPlacement[]> Placement();
}

/// <summary>What a resharding did.</summary>
[GenerateSerializer, Immutable]
public sealed record ReshardReport(
    [property: Id(0)] int PreviousShards,
    [property: Id(1)] int Shards,
    [property: Id(2)] long Users,
    [property: Id(3)] long UsersMoved,
    [property: Id(4)] int ShardsRebuilt,
    [property: Id(5)] long UsersCaughtUp,
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
