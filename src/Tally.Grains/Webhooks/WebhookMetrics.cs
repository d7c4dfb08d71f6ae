using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tally.Grains.Webhooks;

/// <summary>Webhook delivery on the silo's <c>/metrics</c> (meter <c>Tally.Webhooks</c>): attempts by outcome, and per
/// webhook delivered from this silo the age of its oldest change not yet acknowledged. One per silo.</summary>
internal sealed class WebhookMetrics
{
    private readonly ConcurrentDictionary<(string Tenant, string Webhook), double> _lags = new();

    public WebhookMetrics(IMeterFactory meters)
    {
        var meter = meters.Create("Tally.Webhooks");
        Attempts = meter.CreateCounter<long>("tally_webhook_attempts", "{attempt}",
            "Delivery attempts by outcome: acknowledged (2xx in time), refused (any other status), timeout, unreachable.");
        meter.CreateObservableGauge("tally_webhook_delivery_lag", () => _lags.Select(l => new Measurement<double>(l.Value,
            new KeyValuePair<string, object?>("tenant", l.Key.Tenant), new KeyValuePair<string, object?>("webhook", l.Key.Webhook))),
            "s", "Per webhook, the age of the oldest change not yet acknowledged (0 when it is up to date).");
    }

    public Counter<long> Attempts { get; }

    public void Lag(string tenantId, string webhookId, double seconds) => _lags[(tenantId, webhookId)] = seconds;

    /// <summary>The webhook is not delivered from this silo any more (deactivated, disabled, removed).</summary>
    public void Forget(string tenantId, string webhookId) => _lags.TryRemove((tenantId, webhookId), out _);
}
