using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Streams;
using Tally.Contracts;

namespace Tally.Grains.Boards;

/// <summary>
/// Gathers the board updates of every user grain in the silo and sends them to each shard's stream
/// every <see cref="BoardOptions.PublishIntervalMs"/>: stream traffic grows with shards and time,
/// not with events. Updates are absolute and versioned, so a lost batch (a silo dying between a
/// commit and the next send) is healed by the user's next update or by reconciliation.
/// </summary>
internal sealed class BoardPublisher(IClusterClient client, IOptions<BoardOptions> options, ILogger<BoardPublisher> logger) : BackgroundService
{
    private static readonly Meter Meter = new("Tally.Boards");
    private static readonly Counter<long> Sent = Meter.CreateCounter<long>("tally_board_updates_published");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("tally_board_publish_failures");

    private readonly object _gate = new();
    private Dictionary<(string Tenant, int Shard), List<UserBoardUpdate>> _pending = new();

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
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        await FlushAsync();
    }

    internal async Task FlushAsync()
    {
        Dictionary<(string Tenant, int Shard), List<UserBoardUpdate>> batch;
        lock (_gate)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = new();
        }
        var provider = client.GetStreamProvider(BoardShards.StreamProvider);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sends = new List<Task>(batch.Count);
        foreach (var ((tenant, shard), updates) in batch)
        {
            var stream = provider.GetStream<BoardUpdateBatch>(StreamId.Create(BoardShards.StreamNamespace, BoardShards.Key(tenant, shard)));
            sends.Add(SendAsync(stream, new BoardUpdateBatch(updates.ToArray(), now), tenant, shard));
        }
        await Task.WhenAll(sends);
    }

    private async Task SendAsync(IAsyncStream<BoardUpdateBatch> stream, BoardUpdateBatch batch, string tenant, int shard)
    {
        try
        {
            await stream.OnNextAsync(batch);
            Sent.Add(batch.Users.Length);
        }
        catch (Exception ex)
        {
            Failed.Add(batch.Users.Length);
            logger.LogWarning(ex, "Board updates of {Users} users for {Tenant} shard {Shard} were not sent; reconciliation will heal them.",
                batch.Users.Length, tenant, shard);
        }
    }
}
