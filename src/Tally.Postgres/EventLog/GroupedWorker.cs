using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Tally.Postgres.EventLog;

/// <summary>
/// A background worker that serves requests in groups, one group at a time: whatever is waiting,
/// plus what arrives within the linger, goes into one round trip. Requests still queued when the
/// host stops are failed, never dropped silently.
/// </summary>
internal abstract class GroupedWorker<TRequest> : BackgroundService
{
    private readonly Channel<TRequest> _queue = Channel.CreateUnbounded<TRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _name;

    protected GroupedWorker(string name) => _name = name;

    /// <summary>Most requests in one group.</summary>
    protected abstract int MaxGroup { get; }

    /// <summary>How long to wait for more requests once the first has arrived.</summary>
    protected abstract int LingerMs { get; }

    /// <summary>Serves a group; completes every request in it, with a result or an error.</summary>
    protected abstract Task ServeAsync(List<TRequest> group);

    /// <summary>Completes a request that will not be served with the given error.</summary>
    protected abstract void Fail(TRequest request, Exception error);

    protected void Enqueue(TRequest request)
    {
        if (!_queue.Writer.TryWrite(request))
            Fail(request, new EventLogUnavailableException($"The {_name} is stopped.", null));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                var (group, _) = await BatchCollector.CollectAsync(reader, static _ => 1, MaxGroup, LingerMs, stoppingToken);
                if (group.Count == 0) break;
                await ServeAsync(group);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        _queue.Writer.TryComplete();
        while (reader.TryRead(out var left))
            Fail(left, new EventLogUnavailableException($"The {_name} stopped.", null));
    }
}
