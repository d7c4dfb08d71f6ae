using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Postgres.Snapshots;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Boards;

internal sealed partial class MaintenanceGrain
{
    public const string LeaderboardJob = "leaderboard_snapshots";
    public const string RollupJob = "global_stats_rollup";
    public const string SummaryJob = "user_stats_summary";
    public const string DailyJob = "user_daily_stats";

    // What the shards reported changed and is not written yet, per tenant: kept until its write
    // succeeds, so a failed run loses nothing. What an earlier activation had taken but not written is
    // gone with it: the first run after activation catches up from the log (see ChangesAsync).
    private readonly Dictionary<string, HashSet<BoardKey>> _boardsToWrite = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _usersToWrite = new(StringComparer.Ordinal);
    private DateTimeOffset? _lastRunStart; // null until this activation completes a run
    private DateTimeOffset _sweptAt = DateTimeOffset.MinValue;

    /// <summary>
    /// Writes the snapshot tables for every tenant (boards, rollups and users that changed since the
    /// last run), then evicts boards of long-closed periods. It works <paramref name="dutyPercent"/> of its wall time
    /// (see <see cref="BoardOptions.SnapshotDutyPercent"/>; 100 for a run someone waits for).
    /// </summary>
    private async Task<SnapshotReport> SnapshotAsync(int dutyPercent, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await EnsurePartitionsAheadAsync(ct);
        // Everything taken from the shards from here on is written by this run: once it completes, changes
        // received before this instant (less the publishers' allowance) are in the tables.
        var runStart = await recovery.DatabaseNowAsync(TimeSpan.FromSeconds(_options.ReconcileLagSeconds), ct);
        var changes = await ChangesAsync(ct);
        var pace = new DutyCycle(dutyPercent);
        long boardRows = 0, rollupRows = 0, summaryRows = 0;
        var evicted = 0;
        foreach (var tenantId in await tenantStore.ListIdsAsync(ct))
        {
            // A tenant with nothing received, nothing changed and nothing left to write is not visited: its
            // shards are not woken (a shard not in memory, after a restart, stays out), so a run costs the tenants that changed.
            if (!changes.Everything && !changes.Tenants.ContainsKey(tenantId) && !HasPending(tenantId) && !changes.Awake.Contains(tenantId)) continue;
            var tenant = await tenants.GetAsync(tenantId, 0, ct);
            // A tenant being removed writes nothing more: its removal deletes what is there.
            if (tenant is null || tenant.Plan.IsEmpty || tenant.IsRemoving)
            {
                _boardsToWrite.Remove(tenantId);
                _usersToWrite.Remove(tenantId);
                continue;
            }
            var shards = Enumerable.Range(0, tenant.Config.BoardShards)
                .Select(s => GrainFactory.Grain<IBoardShardGrain>(BoardShards.Key(tenantId, s))).ToArray();
            var boards = PendingFor(_boardsToWrite, tenantId);
            foreach (var changed in await Task.WhenAll(shards.Select(s => s.TakeChangedBoards()))) boards.UnionWith(changed);
            if (changes.CatchingUp && (changes.Everything || changes.Tenants.ContainsKey(tenantId)))
            {
                foreach (var held in await Task.WhenAll(shards.Select(s => s.Boards()))) boards.UnionWith(held);
                if (changes.Tenants.TryGetValue(tenantId, out var changedUsers)) PendingFor(_usersToWrite, tenantId).UnionWith(changedUsers);
            }
            var keys = boards.ToArray();
            rollupRows += await SnapshotRollupsAsync(tenant, shards, keys, ct);
            boardRows += await SnapshotBoardsAsync(tenant, keys, pace, ct);
            boards.Clear();

            var users = PendingFor(_usersToWrite, tenantId);
            foreach (var changed in await Task.WhenAll(shards.Select(s => s.TakeChangedUsers()))) users.UnionWith(changed);
            summaryRows += await SnapshotUserSummariesAsync(tenant, users.ToArray(), pace, ct);
            users.Clear();

            evicted += (await Task.WhenAll(shards.Select(s => s.EvictClosed()))).Sum();
        }
        _lastRunStart = runStart;
        await ledger.RecordJobAsync(RollupJob, rollupRows, ct);
        await recovery.AdvanceWatermarkAsync(LeaderboardJob, runStart, boardRows, ct);
        await ledger.RecordJobAsync(SummaryJob, summaryRows, ct);
        jobMetrics.Finished(RollupJob, rollupRows);
        jobMetrics.Finished(LeaderboardJob, boardRows);
        jobMetrics.Finished(SummaryJob, summaryRows);

        // Events received since the last run, up to the reconciliation lag (commits still in flight
        // before it are visible by then): each run reads what arrived, never the whole log.
        var since = await recovery.ReadWatermarkAsync(DailyJob, ct);
        var until = await recovery.DatabaseNowAsync(TimeSpan.FromSeconds(_options.ReconcileLagSeconds), ct);
        long dailyRows = 0;
        if (until > since)
        {
            var (rows, actions) = await dailyStats.RefreshAsync(since, until, ct);
            dailyRows = rows;
            await actionIds.NumberAsync(actions, ct);
        }
        await recovery.AdvanceWatermarkAsync(DailyJob, until, dailyRows, ct);
        jobMetrics.Finished(DailyJob, dailyRows);
        if (boardRows + rollupRows + summaryRows > 0)
            logger.LogInformation("Snapshot run: {Boards} board rows, {Rollups} rollups, {Users} user summaries, {Daily} daily rows in {Ms:0} ms ({Rested:0} ms of it resting).",
                boardRows, rollupRows, summaryRows, dailyRows, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, pace.Rested.TotalMilliseconds);
        return new SnapshotReport(boardRows, rollupRows, summaryRows, dailyRows, evicted);
    }

    /// <param name="Everything">No run ever completed: every tenant, every board.</param>
    /// <param name="CatchingUp">The first run of this activation: what earlier activations took from the shards and did not
    /// write is gone, so each changed tenant's boards are all written, and its changed users' summaries.</param>
    /// <param name="Tenants">Tenants with events received since the last run started (with their users when catching up),
    /// a changed config or a removed user.</param>
    /// <param name="Awake">Once an hour (tenant clock): tenants with a shard in memory, visited so boards of periods closed since
    /// are written one last time and evicted even when the tenant is quiet.</param>
    private sealed record Changes(bool Everything, bool CatchingUp, Dictionary<string, HashSet<string>> Tenants, HashSet<string> Awake);

    /// <summary>
    /// What changed since the last run started (less the publishers' allowance): from this activation's memory, or on
    /// its first run from the watermark the last completed run stored, found by the log's received_at index. The
    /// cost is what arrived; a restart does not wake every tenant's shards nor rewrite their boards.
    /// </summary>
    private async Task<Changes> ChangesAsync(CancellationToken ct)
    {
        var catchingUp = _lastRunStart is null;
        var since = _lastRunStart ?? await recovery.ReadWatermarkAsync(LeaderboardJob, ct);
        if (since == DateTimeOffset.UnixEpoch) return new Changes(true, true, new(StringComparer.Ordinal), []);
        var changed = await changeScan.ChangedSinceAsync(since, withUsers: catchingUp, ct);
        if (catchingUp)
            logger.LogInformation("Snapshots catch up from {Since:o}: {Tenants} tenants and {Users} users changed since the last completed run.",
                since, changed.Count, changed.Values.Sum(u => u.Count));
        var awake = new HashSet<string>(StringComparer.Ordinal);
        if (clock.UtcNow - _sweptAt >= TimeSpan.FromHours(1))
        {
            // Asks every silo which shards are active; wakes none.
            foreach (var id in await GrainFactory.GetGrain<IManagementGrain>(0).GetActiveGrains(GrainType.Create(BoardShardGrain.TypeName)))
                awake.Add(BoardShards.ParseKey(id.Key.ToString()!).TenantId);
            _sweptAt = clock.UtcNow;
        }
        return new Changes(false, catchingUp, changed, awake);
    }

    private bool HasPending(string tenantId) =>
        _boardsToWrite.TryGetValue(tenantId, out var boards) && boards.Count > 0 || _usersToWrite.TryGetValue(tenantId, out var users) && users.Count > 0;

    private DateTimeOffset _partitionsEnsuredAt = DateTimeOffset.MinValue;

    /// <summary>Once an hour: every tenant's partitions for its retention range and <c>PartitionsAheadMonths</c> ahead, so no
    /// commit waits for DDL at a month's first event (tally maintain does the same from outside).</summary>
    private async Task EnsurePartitionsAheadAsync(CancellationToken ct)
    {
        var now = clock.UtcNow;
        if (now - _partitionsEnsuredAt < TimeSpan.FromHours(1)) return;
        var ahead = postgres.Value.PartitionsAheadMonths;
        var retentions = new List<Tally.Domain.Config.RetentionConfig>();
        foreach (var tenantId in await tenantStore.ListIdsAsync(ct))
            if (await tenants.GetAsync(tenantId, 0, ct) is { } tenant) retentions.Add(tenant.Config.Retention);
        var created = await partitions.EnsureForTenantsAsync(retentions, now, ahead, ct);
        _partitionsEnsuredAt = now;
        jobMetrics.Finished("partitions", created);
        if (created > 0) logger.LogInformation("Created {Partitions} event log partitions ahead ({Months} months).", created, ahead);
    }

    private async Task<long> SnapshotRollupsAsync(LoadedTenant tenant, IBoardShardGrain[] shards, BoardKey[] keys, CancellationToken ct)
    {
        var rollups = keys.Where(k => tenant.Plan.IsRollup(k)).ToArray();
        if (rollups.Length == 0) return 0;
        var perShard = await Task.WhenAll(shards.Select(s => s.Totals(rollups)));
        var rows = new List<RollupSnapshotRow>(rollups.Length);
        for (var i = 0; i < rollups.Length; i++)
        {
            decimal total = 0;
            long users = 0, actions = 0;
            foreach (var shard in perShard)
            {
                total += shard[i].Total;
                users += shard[i].Users;
                actions += shard[i].Actions;
            }
            var k = rollups[i];
            rows.Add(new RollupSnapshotRow(k.RollupKey, k.Measure, k.ScopeText, Periods.Name(k.Period), k.PeriodKeyText, total, users, actions));
        }
        return await snapshots.WriteRollupsAsync(tenant.TenantId, rows, ct);
    }

    /// <summary>Each board in its own transaction (a board's rows are replaced at once), resting between boards.</summary>
    private async Task<long> SnapshotBoardsAsync(LoadedTenant tenant, BoardKey[] keys, DutyCycle pace, CancellationToken ct)
    {
        var query = GrainFactory.Grain<IBoardQueryGrain>(0);
        long written = 0;
        foreach (var k in keys.Where(k => tenant.Plan.IsBoard(k)))
        {
            var page = await query.Page(tenant.TenantId, tenant.Version, k, 0, tenant.Plan.SnapshotTop);
            var period = Periods.Name(k.Period);
            var rows = new List<LeaderboardSnapshotRow>(page.Entries.Length);
            foreach (var e in page.Entries)
                rows.Add(new LeaderboardSnapshotRow(k.Measure, k.ScopeText, period, k.PeriodKeyText, (int)e.Rank, e.UserId, e.Score, page.Members));
            written += await snapshots.WriteLeaderboardsAsync(tenant.TenantId, rows, [(k.Measure, k.ScopeText, period, k.PeriodKeyText, page.Entries.Length)], ct);
            await pace.RestAsync(ct);
        }
        return written;
    }

    private static HashSet<T> PendingFor<T>(Dictionary<string, HashSet<T>> pending, string tenantId)
    {
        if (!pending.TryGetValue(tenantId, out var set)) pending[tenantId] = set = new HashSet<T>();
        return set;
    }

    /// <summary>In chunks of <see cref="BoardOptions.SnapshotUserChunk"/> users: their stats (with ranks) asked at once, written in
    /// one transaction, then a rest. A chunk's rows stay small (no large-object heap churn for a run of 100,000 users).</summary>
    private async Task<long> SnapshotUserSummariesAsync(LoadedTenant tenant, string[] changed, DutyCycle pace, CancellationToken ct)
    {
        long written = 0;
        var rows = new List<UserSummaryRow>();
        foreach (var chunk in changed.Chunk(_options.SnapshotUserChunk))
        {
            var stats = await Task.WhenAll(chunk.Select(id => GrainFactory.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, id)).GetStats(tenant.Version, null)));
            rows.Clear();
            for (var i = 0; i < chunk.Length; i++)
            {
                if (stats[i] is not { } s) continue;
                DateOnly? last = s.LastActionDayNumber is { } d ? DateOnly.FromDayNumber(d) : null;
                foreach (var (measure, m) in s.Measures)
                {
                    Dictionary<string, Dictionary<string, long>>? ranks = null;
                    s.Ranks?.TryGetValue(measure, out ranks);
                    long? globalRank = ranks is not null && ranks.TryGetValue(BoardKey.Global, out var g) && g.TryGetValue("all_time", out var r) ? r : null;
                    var scopeJson = ranks is null ? null : JsonSerializer.Serialize(ranks);
                    rows.Add(new UserSummaryRow(chunk[i], measure, m.AllTime, m.Actions, m.Year, m.Month, m.Week, m.Day, globalRank, scopeJson, last, s.CurrentStreak, s.LongestStreak));
                }
            }
            written += await snapshots.WriteUserSummariesAsync(tenant.TenantId, rows, ct);
            await pace.RestAsync(ct);
        }
        return written;
    }
}
