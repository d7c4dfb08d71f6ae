using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Tally.Postgres.EventLog;
using Tally.Postgres.Tenants;

namespace Tally.Grains;

/// <summary>
/// Holds one user's live stats. Events are written to the log first and applied only after the
/// commit, so a failed commit leaves memory untouched. State is saved every few seconds or
/// events; on activation the grain loads it and replays the log after the saved watermark.
/// </summary>
internal sealed class UserGrain(
    [PersistentState("user", TallyStorage.Name)] IPersistentState<UserGrainState> state,
    EventLogWriter writer,
    EventLogReader reader,
    TenantConfigCache tenants,
    TallyClock clock,
    IOptions<UserGrainOptions> options,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private readonly UserGrainOptions _options = options.Value;
    private string _tenantId = "";
    private string _userId = "";
    private LoadedTenant _tenant = null!;
    private UserStats _stats = new();
    private int _unsavedEvents;
    private IGrainTimer? _saveTimer;

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        (_tenantId, _userId) = UserKey.Parse(this.GetPrimaryKeyString());
        _tenant = await tenants.GetAsync(_tenantId, 0, ct)
                  ?? throw new InvalidOperationException($"Tenant '{_tenantId}' does not exist.");
        _stats = UserStatsCodec.Decode(state.State.Stats);
        var missed = await reader.ReadUserAfterAsync(_tenantId, _userId, _stats.LastEventId).WaitAsync(ct);
        foreach (var e in missed)
            _stats.Apply(new AppliedEvent(e.EventId, e.ActionDate, ParseMeasures(e.MeasuresJson)));
        if (missed.Count > 0)
        {
            logger.LogInformation("User {Tenant}/{User}: replayed {Count} events after watermark.", _tenantId, _userId, missed.Count);
            _unsavedEvents += missed.Count;
            ScheduleSave();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        if (reason.ReasonCode != DeactivationReasonCode.ApplicationError) await SaveIfChangedAsync(ct);
    }

    public async Task<RecordResult> Record(long configVersion, IngestEvent[] events)
    {
        await RefreshTenantAsync(configVersion);
        var calendar = _tenant.Calendar;
        var rows = new EventLogRow[events.Length];
        var days = new DateOnly[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            days[i] = calendar.LocalDate(e.OccurredAt);
            rows[i] = new EventLogRow(_tenantId, _userId, e.Action, days[i], e.OccurredAt, e.IdempotencyKey, e.MeasuresJson, e.DimsJson, e.PayloadJson);
        }

        long[] ids;
        try
        {
            ids = await writer.AppendAsync(rows);
        }
        catch (EventLogUnavailableException ex)
        {
            // The commit may or may not have happened: drop this activation so the next one
            // rebuilds from the log instead of guessing.
            this.DeactivateOnIdle();
            return RecordResult.NotDurable(ex.Message);
        }

        var statuses = new EventStatus[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            if (ids[i] == 0)
            {
                statuses[i] = EventStatus.Duplicate;
                continue;
            }
            var e = events[i];
            var measures = new MeasureValue[e.MeasureNames.Length];
            for (var m = 0; m < measures.Length; m++) measures[m] = new MeasureValue(e.MeasureNames[m], e.MeasureValues[m]);
            _stats.Apply(new AppliedEvent(ids[i], days[i], measures));
            statuses[i] = EventStatus.Accepted;
            _unsavedEvents++;
        }
        if (_unsavedEvents >= _options.PersistEveryEvents) await SaveIfChangedAsync(CancellationToken.None);
        else if (_unsavedEvents > 0) ScheduleSave();
        return new RecordResult(true, statuses, null);
    }

    public async Task<UserStatsSnapshot?> GetStats(long configVersion, int? dayNumber)
    {
        await RefreshTenantAsync(configVersion);
        if (_stats.IsEmpty) return null;
        var day = dayNumber is { } n ? DateOnly.FromDayNumber(n) : _tenant.Calendar.LocalDate(clock.UtcNow);
        var view = _stats.View(day);
        var measures = new Dictionary<string, MeasureSnapshot>(view.Measures.Count);
        foreach (var (name, m) in view.Measures)
            measures[name] = new MeasureSnapshot(m.AllTime, m.Year, m.Month, m.Week, m.Day, m.Actions);
        return new UserStatsSnapshot(view.Actions, view.LastActionDate?.DayNumber, measures, view.CurrentStreak, view.LongestStreak);
    }

    private async ValueTask RefreshTenantAsync(long configVersion)
    {
        if (configVersion > _tenant.Version)
            _tenant = await tenants.GetAsync(_tenantId, configVersion) ?? _tenant;
    }

    /// <summary>Arms a one-shot save <see cref="UserGrainOptions.PersistIntervalSeconds"/> from now, if none is armed.
    /// Only grains with unsaved events hold a timer, so idle users cost nothing between events.</summary>
    private void ScheduleSave()
    {
        _saveTimer ??= this.RegisterGrainTimer(async ct =>
        {
            await SaveIfChangedAsync(ct);
            // Disposed only now: disposing a timer cancels the token of its running callback.
            _saveTimer?.Dispose();
            _saveTimer = null;
            if (_unsavedEvents > 0) ScheduleSave();
        }, TimeSpan.FromSeconds(_options.PersistIntervalSeconds), Timeout.InfiniteTimeSpan);
    }

    private async Task SaveIfChangedAsync(CancellationToken ct)
    {
        if (_unsavedEvents == 0) return;
        _stats.Prune(_tenant.Calendar.LocalDate(clock.UtcNow), _options.DailyBucketDays);
        state.State.Stats = UserStatsCodec.Encode(_stats);
        var saved = _unsavedEvents;
        try
        {
            await state.WriteStateAsync(ct);
            _unsavedEvents -= saved;
        }
        catch (Exception ex)
        {
            // Not fatal: the log holds every event and replay covers what was not saved.
            logger.LogWarning(ex, "User {Tenant}/{User}: saving state failed; will retry.", _tenantId, _userId);
        }
    }

    private static MeasureValue[] ParseMeasures(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var values = new List<MeasureValue>(4);
        foreach (var p in doc.RootElement.EnumerateObject())
            values.Add(new MeasureValue(p.Name, p.Value.GetDecimal()));
        return values.ToArray();
    }
}
