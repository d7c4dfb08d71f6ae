using Microsoft.Extensions.Options;

namespace Tally.Grains.Boards;

/// <summary>
/// How many board shards of this silo rebuild at once (<see cref="BoardOptions.RebuildConcurrency"/>). A rebuild gathers
/// its cells before it builds the boards, so while it runs the shard takes about twice its settled memory. After a silo
/// loss every shard it ran starts at once: 16 shards of 1M users with a year of weekly activity each held their
/// gathered cells together, and the silo's heap limit threw OutOfMemoryException in half of them. Rebuilding a few at
/// a time costs no time on a busy machine: the rebuilds share its cores anyway.
/// </summary>
internal sealed class ShardRebuildGate(IOptions<BoardOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.RebuildConcurrency > 0 ? options.Value.RebuildConcurrency : Environment.ProcessorCount);

    /// <summary>Waits for a slot; dispose the result to give it back.</summary>
    public async Task<IDisposable> EnterAsync()
    {
        await _slots.WaitAsync();
        return new Slot(_slots);
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
