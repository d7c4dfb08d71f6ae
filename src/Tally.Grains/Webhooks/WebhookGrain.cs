using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Time;
using Tally.Domain.Webhooks;
using Tally.Postgres.Changes;
using Tally.Postgres.Tenants;
using Tally.Postgres.Webhooks;

namespace Tally.Grains.Webhooks;

/// <summary>
/// One webhook's deliverer. On a timer it reads the tenant's changes after the webhook's cursor and sends them one by
/// one, in feed order, each a signed POST (Standard Webhooks headers); a 2xx within the timeout acknowledges it and the
/// cursor moves past it (changes of other kinds are passed over). A failure stops the line: the same change is tried
/// again on the contract's schedule, and 24 h without an acknowledgement disables the webhook. The cursor and the
/// schedule are in PostgreSQL, so whichever silo the grain lives on (a reminder brings it back after a silo loss) goes on
/// from the first change not acknowledged: at least once, receivers deduplicate by <c>webhook-id</c>.
/// </summary>
internal sealed class WebhookGrain(
    WebhookStore store,
    ChangeStore changes,
    TenantConfigCache tenants,
    IHttpClientFactory httpClients,
    TallyClock clock,
    IOptions<WebhookOptions> options,
    WebhookMetrics metrics,
    ILogger<WebhookGrain> logger) : Grain, IWebhookGrain, IRemindable
{
    private const string ReminderName = "webhook";
    // A tick sends for at most this long, then lets the grain take other calls; the next tick goes on.
    private static readonly TimeSpan TickBudget = TimeSpan.FromSeconds(2);
    private const int ReadAhead = 200;

    private string _tenantId = "";
    private string _webhookId = "";
    private StoredWebhook? _hook;
    private IGrainTimer? _timer;

    public override async Task OnActivateAsync(CancellationToken ct)
    {
        (_tenantId, _webhookId) = WebhookKey.Parse(this.GetPrimaryKeyString());
        await ReloadAsync(ct);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        metrics.Forget(_tenantId, _webhookId);
        return Task.CompletedTask;
    }

    public async Task Start()
    {
        await ReloadAsync(CancellationToken.None);
        if (_hook is null) return;
        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    public async Task Stop()
    {
        _timer?.Dispose();
        _timer = null;
        _hook = null;
        if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
        metrics.Forget(_tenantId, _webhookId);
        DeactivateOnIdle();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await ReloadAsync(CancellationToken.None);
        // Deleted: nothing will deliver it again.
        if (_hook is null && await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
    }

    /// <summary>Reads the webhook; delivers (on a timer that keeps the grain alive) while it is active.</summary>
    private async Task ReloadAsync(CancellationToken ct)
    {
        _hook = await store.GetAsync(_tenantId, _webhookId, ct);
        if (_hook is { IsActive: true })
            _timer ??= this.RegisterGrainTimer(DeliverAsync, new GrainTimerCreationOptions
            {
                DueTime = TimeSpan.Zero, Period = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs), KeepAlive = true,
            });
        else
        {
            _timer?.Dispose();
            _timer = null;
            metrics.Forget(_tenantId, _webhookId);
        }
    }

    private async Task DeliverAsync(CancellationToken ct)
    {
        if (_hook is not { IsActive: true }) return;
        if (_hook.NextAttemptAt is { } next && next > clock.UtcNow) return;
        var tenant = await tenants.GetAsync(_tenantId, 0, ct);
        if (tenant is null) return;
        var started = Stopwatch.GetTimestamp();
        // Changes of other kinds are passed over; their position is stored before the next send, or at the end.
        var cursor = _hook.CursorSeq;
        try
        {
            while (Stopwatch.GetElapsedTime(started) < TickBudget && !ct.IsCancellationRequested)
            {
                var pending = await changes.ReadAsync(_tenantId, cursor, ReadAhead, null, ct);
                if (pending.Count == 0)
                {
                    metrics.Lag(_tenantId, _webhookId, 0);
                    return;
                }
                foreach (var change in pending)
                {
                    metrics.Lag(_tenantId, _webhookId, Math.Max(0, (clock.UtcNow - change.RecordedAt).TotalSeconds));
                    if (Array.IndexOf(_hook.Kinds, change.Kind) < 0)
                    {
                        cursor = change.Seq;
                        continue;
                    }
                    await StorePassedOverAsync(cursor);
                    if (!await SendAsync(_hook, change, tenant.Calendar.Zone, ct)) return;
                    cursor = change.Seq;
                    await store.AdvanceAsync(_tenantId, _webhookId, cursor, acknowledged: true, CancellationToken.None);
                    _hook = _hook with { CursorSeq = cursor, FailingSince = null, Attempts = 0, NextAttemptAt = null };
                    if (Stopwatch.GetElapsedTime(started) >= TickBudget) return;
                }
            }
        }
        finally
        {
            await StorePassedOverAsync(cursor);
        }
    }

    /// <summary>Stores a cursor moved past changes of other kinds (the next deliverable change's failures, if any, stay).</summary>
    private async Task StorePassedOverAsync(long cursor)
    {
        if (_hook is null || cursor <= _hook.CursorSeq) return;
        await store.AdvanceAsync(_tenantId, _webhookId, cursor, acknowledged: false, CancellationToken.None);
        _hook = _hook with { CursorSeq = cursor };
    }

    /// <summary>Sends one change; true if acknowledged. A failure is logged and scheduled (or disables the webhook).</summary>
    private async Task<bool> SendAsync(StoredWebhook hook, StoredChange change, TimeZoneInfo zone, CancellationToken ct)
    {
        var id = ChangeCursor.Format(change.Seq);
        var body = ChangeData.Envelope(change, zone);
        var timestamp = clock.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Sign(hook.Secret, id, timestamp, body));
        // The failures counted so far are those of this change: the first deliverable one after the cursor.
        var attempt = hook.Attempts + 1;
        var started = Stopwatch.GetTimestamp();
        int? status = null;
        string? error = null;
        string outcome;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.DeliveryTimeoutSeconds));
            using var response = await httpClients.CreateClient(WebhookHttp.ClientName).SendAsync(request, timeout.Token);
            status = (int)response.StatusCode;
            outcome = response.IsSuccessStatusCode ? "acknowledged" : "refused";
            if (!response.IsSuccessStatusCode) error = $"HTTP {status}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            (outcome, error) = ("timeout", $"no answer within {options.Value.DeliveryTimeoutSeconds} s");
        }
        catch (HttpRequestException ex)
        {
            (outcome, error) = ("unreachable", ex.Message);
        }
        var duration = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        metrics.Attempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        var now = clock.UtcNow;
        await store.LogDeliveryAsync(_tenantId, _webhookId, new StoredDelivery(change.Seq, attempt, now, status, duration, error),
            options.Value.KeepDeliveries, CancellationToken.None);
        if (outcome == "acknowledged") return true;

        var failingSince = hook.FailingSince ?? now;
        var disable = now - failingSince >= RetrySchedule.GiveUpAfter;
        var nextAttempt = now + RetrySchedule.After(attempt);
        await store.FailAsync(_tenantId, _webhookId, failingSince, attempt, nextAttempt, disable, CancellationToken.None);
        _hook = hook with { FailingSince = failingSince, Attempts = attempt, NextAttemptAt = nextAttempt, State = disable ? "disabled" : hook.State };
        if (disable)
            logger.LogWarning("Webhook {Tenant}/{Webhook} disabled: no acknowledgement of change {Change} since {Since:O}.", _tenantId, _webhookId, id, failingSince);
        return false;
    }
}
