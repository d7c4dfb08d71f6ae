using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Postgres.Boards;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Tenants;

/// <summary>
/// One tenant's board shards: where the active ones run, and resharding (decision 042). A resharding keeps every
/// rank by its order: the new count goes into the config and the run waits until every process has read it (cells and
/// saves then follow it); the saved states' shard column is rewritten; after a wait for saves built before the change
/// to commit, it is read again and what those saves put back is moved too; then every active shard of the tenant is
/// retired and the new count's shards are woken, so each has rebuilt from the rows of the users it now holds when the
/// call returns; last, the config's version moves again, so pages cached during the run are not served after it.
/// </summary>
internal sealed class TenantShardsGrain(
    TenantStore store,
    TenantConfigCache tenants,
    ShardPlacementStore placement,
    TimeProvider time,
    ILogger<TenantShardsGrain> logger) : Grain, ITenantShardsGrain
{
    // Every process re-reads a tenant's config at least this often; a little more, for clocks.
    private static readonly TimeSpan Propagation = TenantConfigCache.MaxAge + TimeSpan.FromSeconds(1);
    // A save built before a process read the new count is committed within this (its group commit and statement).
    private static readonly TimeSpan SaveGrace = TimeSpan.FromSeconds(10);
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
        }
        // A run again with the same count waits too: the one cut short may have changed the config a moment ago.
        logger.LogInformation("Tenant {Tenant}: board shards {Previous} -> {Shards} (config version {Version}); waiting {Wait} s for every process to read it.",
            tenantId, previous, boardShards, stored.Version, Propagation.TotalSeconds);
        await Task.Delay(Propagation, time);

        var (users, moved) = await MoveSavedStatesAsync(tenantId, boardShards);
        await Task.Delay(SaveGrace, time);
        var (_, late) = await MoveSavedStatesAsync(tenantId, boardShards);

        // A removal that began meanwhile owns the tenant's shards from here: waking them would rebuild what it deletes.
        if (await store.GetAsync(tenantId) is not { RemovingSince: null }) return null;
        var active = await TenantGrains.ActiveShardsAsync(GrainFactory, tenantId);
        var retired = new Dictionary<int, DateTimeOffset>();
        foreach (var (key, activatedAt) in active.Zip(await Task.WhenAll(active.Select(key => GrainFactory.GetGrain<IBoardShardGrain>(key).Retire()))))
            retired[BoardShards.ParseKey(key).Shard] = activatedAt;
        // At most a few rebuilds at once: each reads its users' saved states and the log, beside ingest.
        using var gate = new SemaphoreSlim(4);
        var rebuilt = await Task.WhenAll(Enumerable.Range(0, boardShards).Select(WakeAsync));
        // Pages rendered during the run may count a moved user twice: a new version keys them out of every cache (each
        // process reads it within a few seconds), and the snapshot run's change scan visits the tenant again.
        if (await store.SetBoardShardsAsync(tenantId, boardShards) is { } final) tenants.Remember(final);

        var elapsed = (long)time.GetElapsedTime(started).TotalMilliseconds;
        logger.LogInformation("Tenant {Tenant}: resharded {Previous} -> {Shards}: {Moved} of {Users} saved users moved ({Late} more after saves in flight), {Rebuilt} of {Shards} shards rebuilt, in {Ms} ms.",
            tenantId, previous, boardShards, moved, users, late, rebuilt.Count(r => r), boardShards, elapsed);
        return new ReshardReport(previous, boardShards, users, moved + late, rebuilt.Count(r => r), late, elapsed);

        // The first call to a new activation rebuilds the shard; a call may still reach the retired one while it
        // deactivates (told apart by its activation time). A large shard may take longer than a call waits: it goes
        // on rebuilding, and is not counted.
        async Task<bool> WakeAsync(int shard)
        {
            var grain = GrainFactory.GetGrain<IBoardShardGrain>(BoardShards.Key(tenantId, shard));
            await gate.WaitAsync();
            try
            {
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    var now = await grain.Describe();
                    if (!retired.TryGetValue(shard, out var old) || now.ActivatedAt != old) return true;
                    await Task.Delay(TimeSpan.FromMilliseconds(50), time);
                }
                return false;
            }
            catch (Exception ex)
            {
                // Its next call rebuilds it; the answer counts it as not rebuilt.
                logger.LogWarning(ex, "Tenant {Tenant}: shard {Shard} did not answer rebuilt after the resharding.", tenantId, shard);
                return false;
            }
            finally
            {
                gate.Release();
            }
        }
    }

    public async Task<ShardPlacement[]> Placement()
    {
        var keys = await TenantGrains.ActiveShardsAsync(GrainFactory, this.GetPrimaryKeyString());
        var placement = await Task.WhenAll(keys.Select(key => GrainFactory.GetGrain<IBoardShardGrain>(key).Describe()));
        return placement.OrderBy(p => p.Shard).ToArray();
    }

    /// <summary>Rewrites the shard of every saved user whose row names another than the count gives, in chunks of user ids;
    /// returns the users read and the rows moved.</summary>
    private async Task<(long Users, long Moved)> MoveSavedStatesAsync(string tenantId, int boardShards)
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
            users += rows.Count;
            after = rows[^1].UserId;
            if (users % (Chunk * 50) < Chunk)
                logger.LogInformation("Tenant {Tenant}: resharding read {Users} saved users, moved {Moved}.", tenantId, users, moved);
        }
        return (users, moved);
    }
}
