using Microsoft.Extensions.Logging;
using Tally.Contracts;

namespace Tally.Grains.Boards;

internal sealed partial class MaintenanceGrain
{
    private const int DueBatch = 1000;
    private const int MaxRoundsPerRun = 20;

    /// <summary>
    /// The checkpoint scheduler: users whose next decision is due (an index on <c>user_state.checkpoint_due_at</c>,
    /// by business time) are woken in batches; each takes its decisions, writes its history and saves, which
    /// moves its due instant on. No per-user reminders or timers: the cost is the due users, not all users.
    /// </summary>
    private async Task<int> RunCheckpointsAsync(CancellationToken ct)
    {
        var now = clock.UtcNow;
        var woken = 0;
        for (var round = 0; round < MaxRoundsPerRun && !ct.IsCancellationRequested; round++)
        {
            var due = await recovery.ReadDueCheckpointsAsync(now, DueBatch, ct);
            foreach (var chunk in due.Chunk(200))
                await Task.WhenAll(chunk.Select(u => GrainFactory.Grain<IUserGrain>(UserKey.Format(u.TenantId, u.UserId)).AdvanceCheckpoint()));
            woken += due.Count;
            if (due.Count < DueBatch) break;
        }
        jobMetrics.UsersWoken.Add(woken);
        if (woken > 0) logger.LogInformation("Checkpoint scheduler woke {Users} users whose decision was due.", woken);
        return woken;
    }
}
