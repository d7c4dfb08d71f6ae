using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Postgres.Boards;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Tenants;

/// <summary>
/// One tenant's board shards: where the active ones run, and resharding (decision 042). The order keeps every rank: the new count goes into the config and the run waits
/// until every process has read it (publishers and saves then use it); the saved states' shard column is rewritten;
/// every active shard of the tenant is retired, so each rebuilds from the rows of the users it now holds; then a second
/// pass catches a save that was in flight with the old count, and hands those users' cells to their shards.
/// </summary>
internal sealed class TenantShardsGrain(
    TenantStore store,
    TenantConfigCache tenants,
    ShardPlacementStore placement,
    TimeProvider time,
    ILogger<TenantShardsGrain> logger) : Grain, ITenantShardsGrain
{
    // Every process re-reads a tenant's config at least this often; a little more, for clocks and slow reads.
    private static readonly TimeSpan Propagation = TenantConfigCache.MaxAge + TimeSpan.FromSeconds(1);
    private const int Chunk = 10_000;

    public async Task<ReshardReport?> Reshard(int boardShards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(boardShards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(boardShards, 256);
        var tenantId = this.GetPrimaryKeyString();
        var started = time.GetTimestamp();
        var stored = await store.GetAsync(tenantId);
        if (stored is null || stored.RemovingSince is not null) return null;
        var previous = TenantConfigCache.TryParseStored(stored.ConfigJson)?.BoardShards
            ?? throw new InvalidOperationException($"Tenant '{tenantId}' has a config that does not parse.");
        if (previous != boardShards)
        {
            stored = await store.SetBoardShardsAsync(tenantId, boardShards);
            if (stored is null) return null;
            tenants.Remember(stored);
            logger.LogInformation("Tenant {Tenant}: board shards {Previous} -> {Shards} (config version {Version}); waiting {Wait} s for every process to read it.",
                tenantId, previous, boardShards, stored.Version, Propagation.TotalSeconds);
            await Task.Delay(Propagation, time);
        }

        var (users, moved) = await MoveSavedStatesAsync(tenantId, boardShards, caughtUp: null);
        var shards = await TenantGrains.ActiveShardsAsync(GrainFactory, tenantId);
        await Task.WhenAll(shards.Select(key => GrainFactory.GetGrain<IBoardShardGrain>(key).Retire()));
        var late = new List<string>();
        await MoveSavedStatesAsync(tenantId, boardShards, late);
        await CatchUpAsync(tenantId, boardShards, late);

        var elapsed = (long)time.GetElapsedTime(started).TotalMilliseconds;
        logger.LogInformation("Tenant {Tenant}: resharded {Previous} -> {Shards}: {Moved} of {Users} saved users moved, {Retired} shards rebuilt, {Late} caught up, in {Ms} ms.",
            tenantId, previous, boardShards, moved, users, shards.Count, late.Count, elapsed);
        return new ReshardReport(previous, boardShards, users, moved, shards.Count, late.Count, elapsed);
    }

    public async Task<ShardPlacement[]> Placement()
    {
        var keys = await TenantGrains.ActiveShardsAsync(GrainFactory, this.GetPrimaryKeyString());
        var placement = await Task.WhenAll(keys.Select(key => GrainFactory.GetGrain<IBoardShardGrain>(key).Describe()));
        return placement.OrderBy(p => p.Shard).ToArray();
    }

    /// <summary>Rewrites the shard of every saved user whose row names another than the count gives, in chunks of user ids;
    /// returns the users read and the rows moved. <paramref name="caughtUp"/> collects the moved users' ids.</summary>
    private async Task<(long Users, long Moved)> MoveSavedStatesAsync(string tenantId, int boardShards, List<string>? caughtUp)
    {
        long users = 0, moved = 0;
        var after = "";
        var ids = new List<string>(Chunk);
        var shards = new List<int>(Chunk);
        while (true)
        {
            var rows = await placement.ReadAsync(tenantId, after, Chunk, CancellationToken.None);
            if (rows.Count == 0) break;
            ids.Clear();
            shards.Clear();
            foreach (var (userId, shard) in rows)
            {
                var target = BoardShards.Of(userId, boardShards);
                if (target == shard) continue;
                ids.Add(userId);
                shards.Add(target);
            }
            moved += await placement.MoveAsync(tenantId, ids.ToArray(), shards.ToArray(), CancellationToken.None);
            caughtUp?.AddRange(ids);
            users += rows.Count;
            after = rows[^1].UserId;
            if (users % (Chunk * 50) < Chunk)
                logger.LogInformation("Tenant {Tenant}: resharding read {Users} saved users, moved {Moved}.", tenantId, users, moved);
        }
        return (users, moved);
    }

    /// <summary>Gives each user's current cells to the shard the new count puts it in (its rebuild may have read the row
    /// before the second pass moved it).</summary>
    private async Task CatchUpAsync(string tenantId, int boardShards, List<string> userIds)
    {
        foreach (var byShard in userIds.GroupBy(id => BoardShards.Of(id, boardShards)))
        {
            var shard = GrainFactory.GetGrain<IBoardShardGrain>(BoardShards.Key(tenantId, byShard.Key));
            foreach (var chunk in byShard.Chunk(200))
            {
                var updates = await Task.WhenAll(chunk.Select(id => GrainFactory.GetGrain<IUserGrain>(UserKey.Format(tenantId, id)).Republish()));
                await shard.Apply(new BoardUpdateBatch(updates, 0));
            }
        }
    }
}
