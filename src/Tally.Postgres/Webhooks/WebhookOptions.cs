using Microsoft.Extensions.Options;

namespace Tally.Postgres.Webhooks;

/// <summary>Webhook deliveries (silo) and registration (API). Section <c>Tally:Webhooks</c>.</summary>
internal sealed class WebhookOptions
{
    public const string Section = "Tally:Webhooks";

    /// <summary>Allow webhooks to loopback, private, link-local and similar addresses. Off: such a URL is refused at
    /// registration and a delivery is refused at connection (a name that later resolves to one is caught there). The
    /// local stack and tests turn it on; a production cluster should not.</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>How long a delivery waits for the receiver's answer; a 2xx within it acknowledges the change.</summary>
    public int DeliveryTimeoutSeconds { get; set; } = 10;

    /// <summary>How often an idle webhook looks for new changes of its tenant.</summary>
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>Delivery attempts kept per webhook for <c>GET .../deliveries</c> (older ones are removed).</summary>
    public int KeepDeliveries { get; set; } = 500;
}

internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        if (o.DeliveryTimeoutSeconds is < 1 or > 120)
            return ValidateOptionsResult.Fail($"{WebhookOptions.Section}:DeliveryTimeoutSeconds must be 1-120, was {o.DeliveryTimeoutSeconds}.");
        if (o.PollIntervalMs is < 10 or > 60_000)
            return ValidateOptionsResult.Fail($"{WebhookOptions.Section}:PollIntervalMs must be 10-60000, was {o.PollIntervalMs}.");
        if (o.KeepDeliveries is < 1 or > 100_000)
            return ValidateOptionsResult.Fail($"{WebhookOptions.Section}:KeepDeliveries must be 1-100000, was {o.KeepDeliveries}.");
        return ValidateOptionsResult.Success;
    }
}
