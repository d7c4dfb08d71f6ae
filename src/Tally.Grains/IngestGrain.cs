using Orleans.Concurrency;
using Tally.Contracts;

namespace Tally.Grains;

/// <summary>
/// Receives a whole request's events in one call from the API and fans out to one call per user
/// grain inside the silo, where calls are cheap. Stateless: any silo, many activations.
/// </summary>
[StatelessWorker]
internal sealed class IngestGrain : Grain, IIngestGrain
{
    public async Task<RecordResult> Ingest(string tenantId, long configVersion, IngestEvent[] events)
    {
        var byUser = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < events.Length; i++)
        {
            if (!byUser.TryGetValue(events[i].UserId, out var indexes))
                byUser[events[i].UserId] = indexes = new List<int>();
            indexes.Add(i);
        }

        var calls = new List<(List<int> Indexes, Task<RecordResult> Result)>(byUser.Count);
        foreach (var (userId, indexes) in byUser)
        {
            var batch = new IngestEvent[indexes.Count];
            for (var j = 0; j < batch.Length; j++) batch[j] = events[indexes[j]];
            var grain = GrainFactory.GetGrain<IUserGrain>(UserKey.Format(tenantId, userId));
            calls.Add((indexes, grain.Record(configVersion, batch)));
        }

        var statuses = new EventStatus[events.Length];
        string? error = null;
        foreach (var (indexes, task) in calls)
        {
            RecordResult result;
            try
            {
                result = await task;
            }
            catch (Exception ex)
            {
                error ??= ex.Message;
                continue;
            }
            if (!result.Durable)
            {
                error ??= result.Error;
                continue;
            }
            for (var j = 0; j < indexes.Count; j++) statuses[indexes[j]] = result.Statuses[j];
        }
        return error is null ? new RecordResult(true, statuses, null) : RecordResult.NotDurable(error);
    }
}
