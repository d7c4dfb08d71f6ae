using Orleans.Concurrency;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Time;
using Tally.Postgres.Snapshots;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Boards;

/// <summary>
/// Answers board and rollup reads by asking every shard of the tenant and merging: a page is the
/// k-way merge of each shard's best offset+limit; a rank is 1 + the members above it on every shard;
/// a rollup is the sum of the shards' sums. Boards of closed periods that the shards have evicted are
/// read from their last snapshot. Reentrant: it holds no state, and one activation per core taking one
/// read at a time would queue every other read behind a fan-out in flight.
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class BoardQueryGrain(TenantConfigCache tenants, SnapshotReader snapshots, TallyClock clock) : Grain, IBoardQueryGrain
{
    private static readonly Comparison<ShardEntry> Order = (a, b) => RankOrder.Compare(a.Score, a.Reached, a.UserId, b.Score, b.Reached, b.UserId);

    public async Task<BoardPage> Page(string tenantId, long configVersion, BoardKey board, int offset, int limit)
    {
        var tenant = await TenantAsync(tenantId, configVersion);
        var tops = await Task.WhenAll(Shards(tenant).Select(s => s.Top(board, offset + limit)));
        if (tops.All(t => t is null) && IsClosed(tenant, board))
            return await SnapshotPageAsync(tenantId, board, offset, limit);
        long members = 0;
        foreach (var top in tops) members += top?.Members ?? 0;
        var merged = ShardMerge.Page(tops.Where(t => t is not null).Select(t => (IReadOnlyCollection<ShardEntry>)t!.Entries), offset, limit, Order);
        var entries = new List<LeaderboardEntry>(merged.Count);
        for (var i = 0; i < merged.Count; i++) entries.Add(new LeaderboardEntry(offset + i + 1, merged[i].UserId, merged[i].Score));
        return new BoardPage(members, entries.ToArray(), false);
    }

    public async Task<UserStanding?> Around(string tenantId, long configVersion, BoardKey board, string userId, int around)
    {
        var tenant = await TenantAsync(tenantId, configVersion);
        var home = GrainFactory.Grain<IBoardShardGrain>(BoardShards.Key(tenantId, BoardShards.Of(userId, tenant.Config.BoardShards)));
        var entry = await home.Find(board, userId);
        if (entry is null)
        {
            if (!IsClosed(tenant, board)) return null;
            var snapshotRank = await snapshots.ReadSnapshotRankAsync(tenantId, board.Measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, userId, default);
            if (snapshotRank is not { } r) return null;
            var snapshotPage = await SnapshotPageAsync(tenantId, board, Math.Max(0, r - 1 - around), around * 2 + 1);
            var self = snapshotPage.Entries.First(e => e.UserId == userId);
            return new UserStanding(r, self.Score, snapshotPage.Members, snapshotPage.Entries);
        }
        // One round over the shards: each says how many rank above the user and its nearest neighbours.
        var around_ = await Task.WhenAll(Shards(tenant).Select(s => s.Neighbors(board, userId, entry.Score, entry.Reached, around)));
        long rank = 1, members = 0;
        foreach (var n in around_)
        {
            if (n is null) continue;
            rank += n.Above;
            members += n.Members;
        }
        var (above, below) = ShardMerge.Around(
            around_.Where(n => n is not null).Select(n => ((IReadOnlyCollection<ShardEntry>)n!.Before, (IReadOnlyCollection<ShardEntry>)n.After)), around, Order);
        var entries = new LeaderboardEntry[above.Count + 1 + below.Count];
        for (var i = 0; i < above.Count; i++) entries[i] = new LeaderboardEntry(rank - above.Count + i, above[i].UserId, above[i].Score);
        entries[above.Count] = new LeaderboardEntry(rank, userId, entry.Score);
        for (var i = 0; i < below.Count; i++) entries[above.Count + 1 + i] = new LeaderboardEntry(rank + 1 + i, below[i].UserId, below[i].Score);
        return new UserStanding(rank, entry.Score, members, entries);
    }

    public async Task<RollupResult> Rollup(string tenantId, long configVersion, BoardKey board)
    {
        var tenant = await TenantAsync(tenantId, configVersion);
        var totals = await Task.WhenAll(Shards(tenant).Select(s => s.Totals([board])));
        if (totals.All(t => !t[0].Held) && IsClosed(tenant, board)
            && await snapshots.ReadRollupAsync(tenantId, board.RollupKey, board.Measure, default) is { } stored)
            return new RollupResult(stored.Total, stored.Users, stored.Actions, stored.ComputedAt);
        decimal total = 0;
        long users = 0, actions = 0;
        foreach (var t in totals)
        {
            total += t[0].Total;
            users += t[0].Users;
            actions += t[0].Actions;
        }
        return new RollupResult(total, users, actions, clock.UtcNow);
    }

    public async Task<ScopeValueTotals[]> ScopeTotals(string tenantId, long configVersion, string[] measures, string dimension, PeriodKind period, int periodKey)
    {
        var tenant = await TenantAsync(tenantId, configVersion);
        var parts = await Task.WhenAll(Shards(tenant).Select(s => s.ScopeTotals(measures, dimension, period, periodKey)));
        // A user lives on one shard, so a value's users and sums over the shards add up.
        var merged = new SortedDictionary<string, RollupTotals[]>(StringComparer.Ordinal);
        foreach (var part in parts)
            foreach (var v in part)
            {
                if (!merged.TryGetValue(v.Value, out var sum))
                {
                    merged[v.Value] = (RollupTotals[])v.Totals.Clone();
                    continue;
                }
                for (var i = 0; i < sum.Length; i++)
                    sum[i] = new RollupTotals(sum[i].Total + v.Totals[i].Total, sum[i].Users + v.Totals[i].Users,
                        sum[i].Actions + v.Totals[i].Actions, sum[i].Held || v.Totals[i].Held);
            }
        return merged.Select(v => new ScopeValueTotals(v.Key, v.Value)).ToArray();
    }

    public async Task<long[]?> GoalLevels(string tenantId, long configVersion, BoardKey goalCells)
    {
        var tenant = await TenantAsync(tenantId, configVersion);
        long[]? sum = null;
        foreach (var levels in await Task.WhenAll(Shards(tenant).Select(s => s.GoalLevels(goalCells))))
        {
            if (levels is null) continue;
            sum ??= new long[levels.Length];
            for (var i = 0; i < levels.Length; i++) sum[i] += levels[i];
        }
        return sum;
    }

    private async Task<BoardPage> SnapshotPageAsync(string tenantId, BoardKey board, int offset, int limit)
    {
        var (members, rows) = await snapshots.ReadLeaderboardAsync(tenantId, board.Measure, board.ScopeText, Periods.Name(board.Period), board.PeriodKeyText, offset, limit, default);
        return new BoardPage(members, rows.Select(r => new LeaderboardEntry(r.Rank, r.UserId, r.Score)).ToArray(), true);
    }

    private bool IsClosed(LoadedTenant tenant, BoardKey board) =>
        Periods.IsClosed(board.Period, board.PeriodKey, tenant.Calendar.LocalDate(clock.UtcNow));

    private IEnumerable<IBoardShardGrain> Shards(LoadedTenant tenant)
    {
        for (var shard = 0; shard < tenant.Config.BoardShards; shard++)
            yield return GrainFactory.Grain<IBoardShardGrain>(BoardShards.Key(tenant.TenantId, shard));
    }

    private async Task<LoadedTenant> TenantAsync(string tenantId, long configVersion) =>
        await tenants.GetAsync(tenantId, configVersion) ?? throw new InvalidOperationException($"Tenant '{tenantId}' does not exist.");
}
