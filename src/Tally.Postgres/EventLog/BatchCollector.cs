using System.Diagnostics;
using System.Threading.Channels;

namespace Tally.Postgres.EventLog;

/// <summary>
/// Takes what is waiting in a channel, then lingers a few milliseconds for more, up to a size
/// limit: the gathering step of group commit and of batched replay reads.
/// </summary>
internal static class BatchCollector
{
    /// <summary>Waits for at least one item; returns an empty batch only when the channel is completed.</summary>
    public static async Task<(List<T> Batch, int Size)> CollectAsync<T>(
        ChannelReader<T> reader, Func<T, int> sizeOf, int maxSize, int lingerMs, CancellationToken ct)
    {
        var batch = new List<T>();
        var size = 0;
        if (!await reader.WaitToReadAsync(ct)) return (batch, size);
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * lingerMs / 1000;
        while (size < maxSize)
        {
            if (reader.TryRead(out var next))
            {
                batch.Add(next);
                size += sizeOf(next);
                continue;
            }
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (wait <= TimeSpan.Zero) break;
            var more = reader.WaitToReadAsync(ct).AsTask();
            if (await Task.WhenAny(more, Task.Delay(wait, ct)) != more || !await more) break;
        }
        return (batch, size);
    }
}
