using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Boards;

namespace Tally.Grains.Boards;

/// <summary>
/// The rank probes of a silo's concurrent stats reads, asked of each board shard together: while one batch of a
/// tenant is with the shards, the reads that arrive join the next, which leaves when the first returns. A lone read
/// goes at once (no added wait); under load a batch carries many reads, so a read costs a share of one call per
/// shard instead of a call to the query grain and one per shard. Ranks are the same: each shard counts, for every
/// probe, the members ranked above it.
/// <para>
/// A rank needs every shard's count. A batch whose shards do not all answer within
/// <see cref="BoardOptions.RankProbeTimeoutMs"/> fails, and the tenant's reads with ranks fail at once for
/// <see cref="BoardOptions.RankProbeBackoffMs"/>: the reads hold their users' grains, and a shard on a paused or cut-off
/// silo must not hold every user's events behind a read.
/// </para>
/// </summary>
internal sealed class RankBatcher(IClusterClient client, IOptions<BoardOptions> options, TimeProvider time)
{
    private sealed class Batch
    {
        public readonly List<RankProbe> Probes = new();
        public readonly TaskCompletionSource<long[]> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One tenant's traffic: a batch with the shards (or none), the batch gathering behind it, and until when
    /// reads fail at once after a batch timed out.</summary>
    private sealed class Lane
    {
        public bool Busy;
        public Batch? Next;
        public long FailFastUntil;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Tenant, int Shards), Lane> _lanes = new();

    /// <summary>1-based ranks of the probes, in order.</summary>
    public async Task<long[]> RanksAsync(string tenantId, int shards, RankProbe[] probes)
    {
        Batch batch;
        int offset;
        var sendNow = false;
        lock (_gate)
        {
            if (!_lanes.TryGetValue((tenantId, shards), out var lane)) _lanes[(tenantId, shards)] = lane = new Lane();
            if (lane.FailFastUntil > time.GetTimestamp())
                throw new TimeoutException($"Tenant '{tenantId}': a board shard did not answer rank counts in time just now; ranks are unavailable.");
            if (lane.Busy)
            {
                batch = lane.Next ??= new Batch();
            }
            else
            {
                lane.Busy = true;
                batch = new Batch();
                sendNow = true;
            }
            offset = batch.Probes.Count;
            batch.Probes.AddRange(probes);
        }
        // Off the calling grain's scheduler: the batch serves many grains, and the lane goes on after this read returns.
        if (sendNow) _ = Task.Run(() => RunLaneAsync(tenantId, shards, batch));
        var ranks = await batch.Done.Task;
        return ranks.AsSpan(offset, probes.Length).ToArray();
    }

    private async Task RunLaneAsync(string tenantId, int shards, Batch batch)
    {
        while (true)
        {
            try
            {
                batch.Done.SetResult(await CountAsync(tenantId, shards, batch.Probes.ToArray()));
            }
            catch (Exception ex)
            {
                batch.Done.SetException(ex);
                if (ex is TimeoutException)
                    lock (_gate)
                        _lanes[(tenantId, shards)].FailFastUntil = time.GetTimestamp() + options.Value.RankProbeBackoffMs * time.TimestampFrequency / 1000;
            }
            lock (_gate)
            {
                var lane = _lanes[(tenantId, shards)];
                if (lane.Next is null)
                {
                    lane.Busy = false;
                    return;
                }
                batch = lane.Next;
                lane.Next = null;
            }
        }
    }

    private async Task<long[]> CountAsync(string tenantId, int shards, RankProbe[] probes)
    {
        var counts = new Task<long[]>[shards];
        for (var s = 0; s < shards; s++) counts[s] = client.Grain<IBoardShardGrain>(BoardShards.Key(tenantId, s)).CountAbove(probes);
        var ranks = new long[probes.Length];
        Array.Fill(ranks, 1L);
        foreach (var shard in await Task.WhenAll(counts).WaitAsync(TimeSpan.FromMilliseconds(options.Value.RankProbeTimeoutMs), time))
            for (var i = 0; i < ranks.Length; i++) ranks[i] += shard[i];
        return ranks;
    }
}
