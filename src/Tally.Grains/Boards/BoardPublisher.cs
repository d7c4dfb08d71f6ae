using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Boards;

namespace Tally.Grains.Boards;

/// <summary>
/// Gathers the board updates of every user grain in the silo and sends them to each shard every
/// <see cref="BoardOptions.PublishIntervalMs"/>: calls to shards grow with shards and time, not with
/// events. Updates are absolute and versioned, so a lost batch (a silo dying between a commit and the
/// next send, a call that fails) is healed by the user's next update or by reconciliation.
/// <para>
/// Each batch is one call to the shard grain (decision 023). The batch is immutable, so a shard in this
/// silo gets it without a copy; a memory stream serialized and deserialized every batch on its way
/// through its queue grain even when both ends were here. A shard takes one batch at a time from a silo:
/// while its call is in flight, its new updates wait for the next tick, so a slow or rebuilding shard
/// holds back only its own updates and gets them in one larger batch.
/// </para>
/// </summary>
internal sealed class BoardPublisher(IGrainFactory grains, IOptions<BoardOptions> options, TimeProvider time, BoardMetrics metrics, ILogger<BoardPublisher> logger) : BackgroundService
{

    private readonly object _gate = new();
    private Dictionary<(string Tenant, int Shard), List<UserBoardUpdate>> _pending = new();
    // The send in flight to each shard; touched only by the flushing loop.
    private readonly Dictionary<(string Tenant, int Shard), Task> _inFlight = new();

    public void Publish(string tenantId, int shard, UserBoardUpdate update)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue((tenantId, shard), out var list)) _pending[(tenantId, shard)] = list = new List<UserBoardUpdate>();
            list.Add(update);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.PublishIntervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) Flush();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        // Stopping: the grains have deactivated and published their last updates; send everything.
        await Task.WhenAll(_inFlight.Values);
        _inFlight.Clear();
        Flush();
        await Task.WhenAll(_inFlight.Values);
    }

    /// <summary>Starts a send to every shard with updates and no send in flight; the others keep theirs for the next tick.</summary>
    private void Flush()
    {
        Dictionary<(string Tenant, int Shard), List<UserBoardUpdate>> batch;
        lock (_gate)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = new();
        }
        // Forget shards whose last send is done and that have nothing new (a tenant's shards come and go).
        List<(string Tenant, int Shard)>? done = null;
        foreach (var (key, sending) in _inFlight)
            if (sending.IsCompleted && !batch.ContainsKey(key)) (done ??= new()).Add(key);
        if (done is not null) foreach (var key in done) _inFlight.Remove(key);

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        List<((string Tenant, int Shard) Key, List<UserBoardUpdate> Updates)>? held = null;
        foreach (var (key, updates) in batch)
        {
            if (_inFlight.TryGetValue(key, out var sending) && !sending.IsCompleted)
            {
                (held ??= new()).Add((key, updates));
                continue;
            }
            _inFlight[key] = SendAsync(key.Tenant, key.Shard, new BoardUpdateBatch(updates.ToArray(), now));
        }
        if (held is null) return;
        lock (_gate)
        {
            foreach (var (key, updates) in held)
            {
                // Older updates first: the shard keeps the newest version either way, this only keeps batches in order.
                if (_pending.TryGetValue(key, out var newer)) updates.AddRange(newer);
                _pending[key] = updates;
            }
        }
    }

    private async Task SendAsync(string tenant, int shard, BoardUpdateBatch batch)
    {
        try
        {
            await grains.Grain<IBoardShardGrain>(BoardShards.Key(tenant, shard)).Apply(batch);
            metrics.UpdatesPublished.Add(batch.Users.Length);
        }
        catch (Exception ex)
        {
            metrics.PublishFailures.Add(batch.Users.Length);
            logger.LogWarning(ex, "Board updates of {Users} users for {Tenant} shard {Shard} were not applied; reconciliation will heal them.",
                batch.Users.Length, tenant, shard);
        }
    }
}
