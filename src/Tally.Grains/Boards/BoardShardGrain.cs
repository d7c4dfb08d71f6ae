using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Tally.Postgres.Boards;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Boards;

/// <summary>
/// Holds every open board and rollup of one tenant for the users hashed to this shard. Fed by each silo's
/// BoardPublisher with absolute, versioned cells; on activation it rebuilds from the users' saved state plus
/// the log's events since the reconciliation watermark, so a crash costs a reload, never a count.
/// </summary>
[GrainType(TypeName)] // named, so the maintenance grain can list active shards without waking any
[ShardSpreadPlacement]
// Never collected, idle or under memory pressure: a shard's rebuild is the costliest activation there is (a million cells
// took 40-48 s while ingest ran), and Orleans' activation shedding (Tally:UserGrain:MemoryLimitPercent) would otherwise
// take shards with the idle users. A tenant's removal or resharding retires its shards explicitly (Retire).
[KeepAlive]
internal sealed class BoardShardGrain(
    TenantConfigCache tenants,
    RecoveryStore recovery,
    TallyClock clock,
    BoardVersionPublisher versions,
    IOptions<BoardOptions> options,
    TimeProvider time,
    BoardMetrics metrics,
    ShardRebuildGate rebuilds,
    ILogger<BoardShardGrain> logger) : Grain, IBoardShardGrain
{
    public const string TypeName = "boardshard";


    private readonly BoardOptions _options = options.Value;
    private readonly ShardMembers _members = new();
    private readonly Dictionary<BoardKey, ShardBoard> _boards = new();
    private readonly HashSet<int> _changed = new();
    // Leaderboards changed by the call in progress; their versions go to the page cache after it.
    private readonly HashSet<ShardBoard> _moved = new();
    // Versions restart with each activation, so they carry it: a rebuilt shard never reuses a version.
    private readonly string _activation = Guid.NewGuid().ToString("N")[..12];
    private DateTimeOffset _activatedAt;
    private string _tenantId = "";
    private int _shard;
    private LoadedTenant _tenant = null!;

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        try
        {
            await ActivateAsync(ct);
        }
        catch (Exception ex) when (Hosting.DependencyFailureFilter.Translate(ex) is { } unavailable)
        {
            throw unavailable;
        }
    }

    private async Task ActivateAsync(CancellationToken ct)
    {
        _activatedAt = time.GetUtcNow();
        (_tenantId, _shard) = BoardShards.ParseKey(this.GetPrimaryKeyString());
        _tenant = await tenants.GetAsync(_tenantId, 0, ct) ?? throw new InvalidOperationException($"Tenant '{_tenantId}' does not exist.");
        await RebuildAsync();
    }

    public async Task<int> Apply(BoardUpdateBatch batch)
    {
        // Published batches carry their send time; reconciliation's and tests' carry 0 and are not a lag.
        if (batch.PublishedAtUnixMs > 0)
            metrics.UpdateLagMs.Record(Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - batch.PublishedAtUnixMs));
        await RefreshTenantAsync();
        var evictBefore = EvictBefore();
        var changed = 0;
        var shards = _tenant.Config.BoardShards;
        bool Mine(UserBoardUpdate update) => BoardShards.Of(update.UserId, shards) == _shard;
        var heal = batch.PublishedAtUnixMs == 0; // reconciliation's republish: every cell of each user
        var applied = 0;
        try
        {
            for (; applied < batch.Users.Length; applied++)
            {
                var update = batch.Users[applied];
                // Sent by a publisher still on an older shard count (a resharding, decision 042): the user's shard gets its
                // cells from its rebuild or from reconciliation; holding them here too would count the user twice.
                if (!Mine(update))
                {
                    metrics.UpdatesMisrouted.Add(1);
                    continue;
                }
                var member = _members.Of(update.UserId);
                var before = changed;
                foreach (var (key, cell) in update.Cells)
                    if (ApplyCell(member, key, cell, evictBefore)) changed++;
                if (changed > before) _changed.Add(member);
                // Only once every cell is in: a call that fails part way (an OutOfMemoryException growing a board, seen at
                // 1M users under a heap limit) must leave the user behind, so reconciliation republishes it.
                _members.Advance(member, update.UserVersion);
                if (heal) _members.Completed(member);
            }
        }
        catch
        {
            for (var i = applied; i < batch.Users.Length; i++)
                if (Mine(batch.Users[i])) _members.MarkIncomplete(_members.Of(batch.Users[i].UserId));
            throw;
        }
        finally
        {
            MarkVersions();
        }
        return changed;
    }

    public Task Erase(string userId, long throughEventId)
    {
        var member = _members.Of(userId);
        _members.Erase(member, throughEventId);
        var removed = false;
        foreach (var board in _boards.Values)
        {
            if (!board.Remove(member)) continue;
            removed = true;
            if (board.Ranks is not null) _moved.Add(board);
        }
        if (removed) _changed.Add(member);
        MarkVersions();
        return Task.CompletedTask;
    }

    public Task<ShardTop?> Top(BoardKey board, int count)
    {
        if (!_boards.TryGetValue(board, out var b)) return Task.FromResult<ShardTop?>(null);
        var entries = new List<ShardEntry>(Math.Min(count, b.Count));
        if (b.Ranks is { } ranks)
        {
            var page = new List<RankEntry>(Math.Min(count, ranks.Count));
            ranks.Page(0, count, page);
            foreach (var e in page) entries.Add(new ShardEntry(_members.UserId(e.Member), e.Score, e.Reached));
        }
        return Task.FromResult<ShardTop?>(new ShardTop(b.Count, entries.ToArray()));
    }

    public Task<ShardEntry?> Find(BoardKey board, string userId)
    {
        if (_boards.TryGetValue(board, out var b) && _members.TryFind(userId, out var member) && b.TryGetCell(member, out var cell))
            return Task.FromResult<ShardEntry?>(new ShardEntry(userId, cell.Score, cell.Reached));
        return Task.FromResult<ShardEntry?>(null);
    }

    public Task<ShardNeighbors?> Neighbors(BoardKey board, string userId, decimal score, long reached, int count)
    {
        if (!_boards.TryGetValue(board, out var b) || b.Ranks is not { } ranks) return Task.FromResult<ShardNeighbors?>(null);
        var own = default(BoardCell);
        var self = _members.TryFind(userId, out var member) && b.TryGetCell(member, out own) ? member : -1;
        var before = ranks.CountBefore(score, reached);
        var selfAbove = self >= 0 && IsBefore(own, score, reached);
        // One extra on each side: the user's own entry may sit in either window and is left out.
        var window = new List<RankEntry>(count * 2 + 2);
        var from = Math.Max(0, before - count - 1);
        ranks.Page(from, before - from, window);
        var above = Entries(window, self, fromEnd: count);
        window.Clear();
        ranks.Page(before, count + 1, window);
        var below = Entries(window, self, fromStart: count);
        return Task.FromResult<ShardNeighbors?>(new ShardNeighbors(b.Count, before - (selfAbove ? 1 : 0), above, below));
    }

    private ShardEntry[] Entries(List<RankEntry> window, int self, int fromStart = -1, int fromEnd = -1)
    {
        var list = new List<ShardEntry>(window.Count);
        foreach (var e in window)
            if (e.Member != self) list.Add(new ShardEntry(_members.UserId(e.Member), e.Score, e.Reached));
        if (fromStart >= 0 && list.Count > fromStart) list.RemoveRange(fromStart, list.Count - fromStart);
        if (fromEnd >= 0 && list.Count > fromEnd) list.RemoveRange(0, list.Count - fromEnd);
        return list.ToArray();
    }

    private static bool IsBefore(BoardCell cell, decimal score, long reached) => RankOrder.Before(cell.Score, cell.Reached, score, reached);

    public Task<long[]> CountAbove(RankProbe[] probes)
    {
        var counts = new long[probes.Length];
        for (var i = 0; i < probes.Length; i++)
        {
            var p = probes[i];
            if (!_boards.TryGetValue(p.Board, out var b) || b.Ranks is not { } ranks) continue;
            long count = ranks.CountBefore(p.Score, p.Reached);
            // The probing user's own (possibly older) entry is not "someone above".
            if (_members.TryFind(p.UserId, out var self) && b.TryGetCell(self, out var own) && IsBefore(own, p.Score, p.Reached))
                count--;
            counts[i] = count;
        }
        return Task.FromResult(counts);
    }

    public Task<RollupTotals[]> Totals(BoardKey[] boards)
    {
        var totals = new RollupTotals[boards.Length];
        for (var i = 0; i < boards.Length; i++)
            totals[i] = _boards.TryGetValue(boards[i], out var b)
                ? new RollupTotals(b.Total, b.Count, b.Actions, true)
                : new RollupTotals(0, 0, 0, false);
        return Task.FromResult(totals);
    }

    public Task<long[]?> GoalLevels(BoardKey goalCells) =>
        Task.FromResult(_boards.TryGetValue(goalCells, out var b) && b.Levels is { } levels ? (long[]?)levels.ToArray() : null);

    public Task<ScopeValueTotals[]> ScopeTotals(string[] measures, string dimension, PeriodKind period, int periodKey)
    {
        // A walk over the shard's boards, not its members: each value's rollup already holds its sums.
        var byValue = new Dictionary<string, RollupTotals[]>(StringComparer.Ordinal);
        foreach (var (key, board) in _boards)
        {
            if (key.Dimension != dimension || key.Period != period || key.PeriodKey != periodKey) continue;
            var m = Array.IndexOf(measures, key.Measure);
            if (m < 0) continue;
            if (!byValue.TryGetValue(key.Value, out var totals))
                byValue[key.Value] = totals = Enumerable.Repeat(new RollupTotals(0, 0, 0, false), measures.Length).ToArray();
            totals[m] = new RollupTotals(board.Total, board.Count, board.Actions, true);
        }
        return Task.FromResult(byValue.Select(v => new ScopeValueTotals(v.Key, v.Value)).ToArray());
    }

    public Task<BoardKey[]> Boards() => Task.FromResult(_boards.Keys.ToArray());

    public Task<BoardKey[]> TakeChangedBoards()
    {
        var changed = new List<BoardKey>();
        foreach (var board in _boards.Values)
        {
            if (board.SnapshotVersion == board.Version) continue;
            changed.Add(board.Key);
            board.SnapshotVersion = board.Version;
        }
        return Task.FromResult(changed.ToArray());
    }

    public Task<string[]> Behind(string[] userIds, long[] eventIds)
    {
        var behind = new List<string>();
        for (var i = 0; i < userIds.Length; i++)
            if (_members.IsBehind(userIds[i], eventIds[i]))
                behind.Add(userIds[i]);
        return Task.FromResult(behind.ToArray());
    }

    public Task<string[]> TakeChangedUsers()
    {
        var users = new string[_changed.Count];
        var i = 0;
        foreach (var member in _changed) users[i++] = _members.UserId(member);
        _changed.Clear();
        return Task.FromResult(users);
    }

    public Task<DateTimeOffset> Retire()
    {
        _boards.Clear();
        DeactivateOnIdle();
        return Task.FromResult(_activatedAt);
    }

    public Task<ShardPlacement> Describe()
    {
        long cells = 0;
        foreach (var board in _boards.Values) cells += board.Count;
        return Task.FromResult(new ShardPlacement(_shard, RuntimeIdentity, _members.Count, _boards.Count, cells, _activatedAt));
    }

    public Task<int> EvictClosed()
    {
        var evictBefore = EvictBefore();
        var stale = new List<BoardKey>();
        foreach (var key in _boards.Keys)
            if (_options.Grace.IsEvicted(key, evictBefore)) stale.Add(key);
        foreach (var key in stale) _boards.Remove(key);
        if (stale.Count > 0) logger.LogInformation("Shard {Tenant}/{Shard}: evicted {Boards} boards of closed periods.", _tenantId, _shard, stale.Count);
        return Task.FromResult(stale.Count);
    }

    /// <summary>
    /// Loads the shard's users from their saved states plus the logged events those do not hold. Not
    /// cancelled with the activation: a large shard may take longer than Orleans' activation timeout, and
    /// giving up would only make the next call start over (each read is bounded by the command timeout).
    /// </summary>
    private async Task RebuildAsync()
    {
        var ct = CancellationToken.None;
        var plan = _tenant.Plan;
        if (plan.IsEmpty) return;
        // Saved states hold every event received before the watermark; the log has the rest. The scan starts before the
        // turn, so the tenant's shards that rebuild one after another share one scan instead of each making its own.
        var watermark = await recovery.ReadWatermarkAsync(RecoveryStore.ReconcileJob, ct);
        var scan = recovery.ReadUnsavedSinceAsync(_tenantId, watermark, ct);
        var waited = System.Diagnostics.Stopwatch.GetTimestamp();
        using var turn = await rebuilds.EnterAsync();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var waitedMs = System.Diagnostics.Stopwatch.GetElapsedTime(waited, started).TotalMilliseconds;
        var unsaved = new Dictionary<string, List<Tally.Postgres.EventLog.LoggedEvent>>(StringComparer.Ordinal);
        foreach (var (savedShard, userId, e) in await scan)
        {
            // A user saved under another shard (a resharding in flight, decision 042) is that shard's until it moves.
            if ((savedShard is { } saved && saved != _shard) || BoardShards.Of(userId, _tenant.Config.BoardShards) != _shard) continue;
            if (!unsaved.TryGetValue(userId, out var list)) unsaved[userId] = list = new();
            list.Add(e);
        }
        var replayed = 0;
        var userCount = 0;
        var load = new ShardLoad(plan, _options.Grace, EvictBefore());
        int Gather(string userId, long lastEventId)
        {
            var member = _members.Of(userId);
            userCount++;
            _members.Advance(member, lastEventId);
            // Their summaries may have moved while the shard was away: the next snapshot rewrites them.
            _changed.Add(member);
            return member;
        }
        // A user with logged events its state does not hold: the whole state, the events applied, its cells.
        void Take(string userId, UserStats stats, List<Tally.Postgres.EventLog.LoggedEvent> events)
        {
            foreach (var e in events)
            {
                if (e.EventId <= stats.LastEventId) continue;
                stats.Apply(e.EventId, e.ActionDate, e.Event, plan);
                replayed++;
            }
            load.Add(Gather(userId, stats.LastEventId), stats);
        }
        var skipped = 0;
        // Everyone else (nearly all): only the saved cells are read, one user at a time.
        var reader = new SavedCells();
        var cells = new List<(BoardKey Key, BoardCell Cell)>();
        await foreach (var (userId, bytes) in recovery.ReadShardStatesAsync(_tenantId, _shard, ct))
        {
            // A row saved under another shard count (a resharding moves it, decision 042) is not this shard's user.
            if (BoardShards.Of(userId, _tenant.Config.BoardShards) != _shard)
            {
                skipped++;
                continue;
            }
            if (unsaved.Remove(userId, out var events))
            {
                Take(userId, UserStatsCodec.Decode(bytes), events);
                continue;
            }
            var lastEventId = reader.Read(bytes, cells);
            load.Add(Gather(userId, lastEventId), cells);
        }
        // Users never saved: all they have is in the log.
        foreach (var (userId, events) in unsaved) Take(userId, new UserStats(), events);
        foreach (var board in load.Boards(_members.ByUserId))
        {
            _boards[board.Key] = board;
            if (board.Ranks is not null) _moved.Add(board);
        }
        MarkVersions();
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        metrics.RebuildMs.Record(elapsed);
        logger.LogInformation("Shard {Tenant}/{Shard}: rebuilt {Users} users, {Cells} cells in {Boards} boards ({Replayed} events from the log) in {Ms:F0} ms, after waiting {Waited:F0} ms for its turn.",
            _tenantId, _shard, userCount, load.Cells, _boards.Count, replayed, elapsed, waitedMs);
        if (skipped > 0)
            logger.LogWarning("Shard {Tenant}/{Shard}: skipped {Rows} saved states stored under another shard count; a resharding's second pass moves them.",
                _tenantId, _shard, skipped);
    }

    private bool ApplyCell(int member, BoardKey key, BoardCell cell, DateOnly evictBefore)
    {
        // Removed users (decision 012): cells published before the removal must not bring them back.
        if (_members.IsErased(member, cell.Version)) return false;
        if (!_boards.TryGetValue(key, out var board))
        {
            if (!ShardLoad.Opens(_tenant.Plan, _options.Grace, evictBefore, key)) return false;
            _boards[key] = board = ShardLoad.Open(_tenant.Plan, key, _members.ByUserId);
        }
        if (!board.Apply(member, cell)) return false;
        if (board.Ranks is not null) _moved.Add(board);
        return true;
    }

    private void MarkVersions()
    {
        foreach (var board in _moved) versions.Mark(_tenantId, board.KeyText, _shard, $"{_activation}.{board.Version}");
        _moved.Clear();
    }

    /// <summary>Today in the tenant's calendar: boards past their grace on it are evicted (and not re-created by late updates).</summary>
    private DateOnly EvictBefore() => _tenant.Calendar.LocalDate(clock.UtcNow);

    private async ValueTask RefreshTenantAsync() => _tenant = await tenants.GetAsync(_tenantId) ?? _tenant;
}
