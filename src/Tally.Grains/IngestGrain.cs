using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Tally.Contracts;
using Tally.Domain.Events;
using Tally.Postgres.EventLog;

namespace Tally.Grains;

/// <summary>
/// Receives a whole request's events in one call from the API and fans out to one call per user
/// grain inside the silo, where calls are cheap. Stateless: any silo, many activations.
/// Reentrant: a stateless worker otherwise takes one request at a time per activation, and a silo makes
/// only as many activations as it has cores, so two requests waiting on their commits held back every other.
/// <para>
/// Every call ends by its deadline. Admission refuses a call whole, before anything is written, when it arrives with
/// too little time left (it waited in the silo's queues: the silo is saturated), when the writer's queue is full, or
/// while recent commits are slow. Users that have not answered by the deadline (their grain sits on a silo that stopped
/// answering, or is busy) get <see cref="EventStatus.Retry"/> for their events while the others' are acknowledged.
/// </para>
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class IngestGrain(EventLogWriter writer, IOptions<EventLogOptions> logOptions, IOptions<IngestOptions> options, TimeProvider time, IngestMetrics metrics)
    : Grain, IIngestGrain
{

    public async Task<RecordResult> Ingest(string tenantId, long configVersion, ValidEvent[] events, long deadlineUnixMs)
    {
        var o = options.Value;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var deadline = deadlineUnixMs > 0 ? deadlineUnixMs : now + IngestDeadline.DefaultBudgetMs;
        if (Admit(deadline - now, events.Length) is { } refusal) return refusal;

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
            calls.Add((indexes, RecordAsync(UserKey.Format(tenantId, userId), configVersion, batch, deadline)));
        }

        // Wait for every user, but not past the deadline (less the time the answer needs to travel back).
        var replyBy = TimeSpan.FromMilliseconds(Math.Max(0, deadline - o.ReplyMarginMs - time.GetUtcNow().ToUnixTimeMilliseconds()));
        try
        {
            await Task.WhenAll(calls.Select(c => c.Result)).WaitAsync(replyBy, time);
        }
        catch (TimeoutException)
        {
            // Users still running answer retry below; their calls go on and may commit (a retry then answers duplicate).
        }

        var statuses = new EventStatus[events.Length];
        EventRejection?[]? errors = null;
        int succeeded = 0, unwritten = 0, unknown = 0, overloaded = 0;
        string? error = null;
        foreach (var (indexes, task) in calls)
        {
            var result = task.IsCompletedSuccessfully
                ? task.Result
                : RecordResult.Failed(RecordFailure.OutcomeUnknown, "This user's grain did not answer in time.");
            if (result.Failure == RecordFailure.None)
            {
                succeeded++;
                for (var j = 0; j < indexes.Count; j++)
                {
                    statuses[indexes[j]] = result.Statuses[j];
                    if (result.Errors?[j] is { } e) (errors ??= new EventRejection?[events.Length])[indexes[j]] = e;
                }
                continue;
            }
            switch (result.Failure)
            {
                case RecordFailure.Overloaded: overloaded++; unwritten++; break;
                case RecordFailure.NotDurable: unwritten++; break;
                default: unknown++; break;
            }
            error ??= result.Error;
            var retry = RetryFor(result, task.IsCompleted);
            metrics.RetryEvents.Add(indexes.Count, new KeyValuePair<string, object?>("reason", retry.Code));
            foreach (var index in indexes)
            {
                statuses[index] = EventStatus.Retry;
                (errors ??= new EventRejection?[events.Length])[index] = retry;
            }
        }
        // Nothing acknowledged at all: one answer for the whole call, as the API maps it to a 503.
        if (succeeded == 0)
        {
            if (unknown > 0) return RecordResult.Failed(RecordFailure.OutcomeUnknown, error ?? "No user's grain answered in time.");
            return RecordResult.Failed(overloaded > 0 ? RecordFailure.Overloaded : RecordFailure.NotDurable, error ?? "Nothing was written.");
        }
        return new RecordResult(RecordFailure.None, statuses, errors, null);
    }

    /// <summary>The whole call's refusal, or null to go on. Every check is before anything is written.</summary>
    private RecordResult? Admit(long budgetMs, int rows)
    {
        var o = options.Value;
        if (budgetMs < o.MinBudgetMs)
        {
            metrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", "late"));
            return RecordResult.Failed(RecordFailure.Overloaded,
                $"The call reached the silo with {Math.Max(0, budgetMs)} ms left of its deadline: the silo is saturated; nothing was written.");
        }
        var queued = writer.QueuedRows;
        if (queued > 0 && queued + rows > logOptions.Value.MaxQueuedRows)
        {
            metrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", "queue"));
            return RecordResult.Failed(RecordFailure.Overloaded, $"The silo's event-log writer has {queued:N0} rows queued; nothing was written.");
        }
        var latency = writer.RecentLatencyMs;
        if (latency > o.MaxCommitLatencyMs)
        {
            metrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", "commits"));
            return RecordResult.Failed(RecordFailure.Overloaded, $"The silo's recent commits took {latency:N0} ms; nothing was written.");
        }
        return null;
    }

    private static EventRejection RetryFor(RecordResult result, bool answered) => result.Failure switch
    {
        RecordFailure.Overloaded => new EventRejection("overloaded", result.Error ?? "The silo was saturated; nothing was written.", ""),
        RecordFailure.NotDurable => new EventRejection("not_durable", result.Error ?? "The event log could not commit; nothing was written.", ""),
        _ when !answered => new EventRejection("unavailable",
            "The part of the cluster that holds this user did not answer in time; the event may or may not be recorded. Send it again with the same idempotency key.", ""),
        _ => new EventRejection("unavailable", result.Error ?? "The event may or may not be recorded. Send it again with the same idempotency key.", ""),
    };

    /// <summary>One user's call. A superseded activation wrote nothing, so it is retried once on the live one;
    /// a call that threw (timeout, silo lost) may or may not have run.</summary>
    private async Task<RecordResult> RecordAsync(string userKey, long configVersion, ValidEvent[] batch, long deadline)
    {
        for (var attempt = 0; ; attempt++)
        {
            RecordResult result;
            try
            {
                result = await GrainFactory.Grain<IUserGrain>(userKey).Record(configVersion, batch, deadline);
            }
            catch (Exception ex)
            {
                return RecordResult.Failed(RecordFailure.OutcomeUnknown, ex.Message);
            }
            if (result.Failure != RecordFailure.Superseded || attempt > 0) return result;
        }
    }
}
