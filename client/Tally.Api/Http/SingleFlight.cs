using System.Collections.Concurrent;

namespace Tally.Api.Http;

/// <summary>
/// Concurrent requests for the same key share one computation: when a hot leaderboard's version
/// changes, the readers that miss the cache together cost one fan-out, not one each. A run is
/// forgotten the moment it ends, so nothing is served from here after its result is known.
/// </summary>
internal sealed class SingleFlight
{
    private readonly ConcurrentDictionary<string, Task<byte[]>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="work"/> unless a run for <paramref name="key"/> is under way, and answers with that run's result.</summary>
    public Task<byte[]> RunAsync(string key, Func<Task<byte[]>> work)
    {
        while (true)
        {
            if (_inFlight.TryGetValue(key, out var running)) return running;
            var run = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(key, run.Task)) continue;
            _ = CompleteAsync(key, work, run);
            return run.Task;
        }
    }

    private async Task CompleteAsync(string key, Func<Task<byte[]>> work, TaskCompletionSource<byte[]> run)
    {
        byte[] result;
        try
        {
            result = await work();
        }
        catch (Exception ex)
        {
            _inFlight.TryRemove(new KeyValuePair<string, Task<byte[]>>(key, run.Task));
            run.SetException(ex);
            return;
        }
        _inFlight.TryRemove(new KeyValuePair<string, Task<byte[]>>(key, run.Task));
        run.SetResult(result);
    }
}
