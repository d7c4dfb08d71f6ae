using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Stats;

namespace Tally.Grains;

internal sealed partial class UserGrain
{
    /// <summary>
    /// Removes the user (decision 012): the emptied state, the erasure mark and the removal of the user's
    /// derived rows are one transaction, fenced by this activation's epoch; then the user's board shard
    /// drops the user from every board and rollup before the call answers. Calling it again for a removed
    /// user repeats the shard step (a previous call may have failed after the commit) and answers Erased.
    /// </summary>
    public async Task<EraseOutcome> Erase()
    {
        if (_stats.IsEmpty && _stats.LastEventId == 0) return EraseOutcome.NotFound;
        // A completion write in flight must land before the removal deletes the user's completions, not after it.
        await FlushGoalsAsync();
        var through = _stats.LastEventId;
        // The shard by the count every process uses now: a resharding may have moved the user since this grain last looked.
        await RefreshTenantForWriteAsync();
        var shard = BoardShards.Of(_userId, _tenant.Config.BoardShards);
        if (!_stats.IsEmpty)
        {
            var erased = UserStats.Erased(through);
            if (!await erasures.EraseAsync(_tenantId, _userId, _epoch, shard, through, UserStatsCodec.Encode(erased), clock.UtcNow, _tenant.Calendar.Zone))
            {
                DeactivateOnIdle();
                return EraseOutcome.Moved;
            }
            _stats = erased;
            _touched.Clear();
            _cellsVersion++;
            _unsavedEvents = 0;
            _dirty = false;
        }
        await GrainFactory.Grain<IBoardShardGrain>(BoardShards.Key(_tenantId, shard)).Erase(_userId, through);
        return EraseOutcome.Erased;
    }
}
