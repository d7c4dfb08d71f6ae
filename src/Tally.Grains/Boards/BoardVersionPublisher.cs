using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tally.Redis;

namespace Tally.Grains.Boards;

/// <summary>
/// Sends the board versions of every shard in the silo to Redis every
/// <see cref="BoardOptions.PublishIntervalMs"/>, the latest per (board, shard) only, so API
/// instances key cached pages by content and see a change as soon as it is applied. Without Redis
/// it does nothing; a failed write is retried with the next (pages meanwhile stay cached for at
/// most <see cref="RedisOptions.VersionedPageCacheMs"/>).
/// </summary>
internal sealed class BoardVersionPublisher(BoardVersions versions, IOptions<BoardOptions> options) : BackgroundService
{
    private readonly object _gate = new();
    private Dictionary<(string Tenant, string Board, int Shard), string> _pending = new();

    public void Mark(string tenantId, string board, int shard, string version)
    {
        if (!versions.IsConfigured) return;
        lock (_gate) _pending[(tenantId, board, shard)] = version;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!versions.IsConfigured) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.PublishIntervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task FlushAsync()
    {
        Dictionary<(string Tenant, string Board, int Shard), string> batch;
        lock (_gate)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = new();
        }
        var list = new List<BoardVersion>(batch.Count);
        foreach (var ((tenant, board, shard), version) in batch) list.Add(new BoardVersion(tenant, board, shard, version));
        if (await versions.WriteAsync(list)) return;
        // Put back what newer marks have not replaced, for the next tick.
        lock (_gate)
            foreach (var (key, version) in batch) _pending.TryAdd(key, version);
    }
}
