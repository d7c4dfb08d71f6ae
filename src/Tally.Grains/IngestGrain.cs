using Orleans.Concurrency;
using Tally.Contracts;
using Tally.Domain.Events;
using Tally.Postgres.EventLog;
using Microsoft.Extensions.Options;

namespace Tally.Grains;

/// <summary>
/// Receives a whole request's events in one call from the API and fans out to one call per user
/// grain inside the silo, where calls are cheap. Stateless: any silo, many activations.
/// Reentrant: a stateless worker otherwise takes one request at a time per activation, and a silo makes
/// only as many activations as it has cores, so two requests waiting on their commits held back every other.
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class IngestGrain(EventLogWriter writer, IOptions<EventLogOptions> options) : Grain, IIngestGrain
{
    public async Task<RecordResult> Ingest(string tenantId, long configVersion, ValidEvent[] events)
    {
        // Admission: a saturated writer refuses the whole request at once, before anything is written.
        if (writer.QueuedRows > 0 && writer.QueuedRows + events.Length > options.Value.MaxQueuedRows)
            return RecordResult.Failed(RecordFailure.Overloaded, $"The silo's event-log writer has {writer.QueuedRows:N0} rows queued; nothing was written.");

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
            var batch = new ValidEvent[indexes.Count];
            for (var j = 0; j < batch.Length; j++) batch[j] = events[indexes[j]];
            calls.Add((indexes, RecordAsync(UserKey.Format(tenantId, userId), configVersion, batch)));
        }

        var statuses = new EventStatus[events.Length];
        EventRejection?[]? rejections = null;
        int succeeded = 0, failedSurely = 0, uncertain = 0, overloaded = 0;
        string? error = null;
        foreach (var (indexes, task) in calls)
        {
            var result = await task;
            switch (result.Failure)
            {
                case RecordFailure.None:
                    succeeded++;
                    for (var j = 0; j < indexes.Count; j++)
                    {
                        statuses[indexes[j]] = result.Statuses[j];
                        if (result.Rejections?[j] is { } rejection) (rejections ??= new EventRejection?[events.Length])[indexes[j]] = rejection;
                    }
                    continue;
                case RecordFailure.OutcomeUnknown:
                    uncertain++;
                    break;
                case RecordFailure.Overloaded:
                    overloaded++;
                    failedSurely++;
                    break;
                default:
                    failedSurely++;
                    break;
            }
            error ??= result.Error;
        }
        if (failedSurely == 0 && uncertain == 0) return new RecordResult(RecordFailure.None, statuses, rejections, null);
        // Some users' events may be committed: the client must retry (duplicates then answer for those).
        if (succeeded > 0 || uncertain > 0)
            return RecordResult.Failed(RecordFailure.OutcomeUnknown, error ?? "Part of the request failed.");
        return RecordResult.Failed(overloaded > 0 ? RecordFailure.Overloaded : RecordFailure.NotDurable, error ?? "Nothing was written.");
    }

    /// <summary>One user's call. A superseded activation wrote nothing, so it is retried once on the live one;
    /// a call that threw (timeout, silo lost) may or may not have run.</summary>
    private async Task<RecordResult> RecordAsync(string userKey, long configVersion, ValidEvent[] batch)
    {
        for (var attempt = 0; ; attempt++)
        {
            RecordResult result;
            try
            {
                result = await GrainFactory.Grain<IUserGrain>(userKey).Record(configVersion, batch);
            }
            catch (Exception ex)
            {
                return RecordResult.Failed(RecordFailure.OutcomeUnknown, ex.Message);
            }
            if (result.Failure != RecordFailure.Superseded || attempt > 0) return result;
        }
    }
}
