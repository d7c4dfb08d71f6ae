namespace Tally.Contracts;

/// <summary>
/// Delivers one webhook's changes, one at a time in feed order (API.md, Changes and webhooks). One activation per webhook
/// in the cluster; a reminder brings it back on another silo if its silo dies, and it resumes from the first change not
/// acknowledged. Key: <see cref="WebhookKey.Format"/>.
/// </summary>
public interface IWebhookGrain : IGrainWithStringKey
{
    /// <summary>Reads the webhook again (created, enabled) and delivers while it is active.</summary>
    Task Start();

    /// <summary>Stops delivering (the webhook was deleted).</summary>
    Task Stop();
}

public static class WebhookKey
{
    public static string Format(string tenantId, string webhookId) => tenantId + "/" + webhookId;

    public static (string TenantId, string WebhookId) Parse(string key)
    {
        var slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }
}
