using Microsoft.Extensions.Options;

namespace Tally.Api.Hosting;

/// <summary>The API front end. Section <c>Tally:Api</c>.</summary>
public sealed class ApiOptions
{
    public const string Section = "Tally:Api";

    /// <summary>The operator's cluster admin key: creates tenants. Required; keep it secret.</summary>
    public string AdminKey { get; set; } = "";

    /// <summary>Largest request body accepted; larger bodies get 413.</summary>
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Longest request target (path and query) answered; longer is 414 with an error body.</summary>
    public int MaxRequestTargetBytes { get; set; } = 8 * 1024;

    /// <summary>Largest total of request headers answered; larger is 431 with an error body.</summary>
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    /// <summary>Most events in one <c>POST /v1/events</c>.</summary>
    public int MaxEventsPerRequest { get; set; } = 10_000;

    /// <summary>Days back that <c>?at=</c> may reach; match the silos' <c>Tally:UserGrain:DailyBucketDays</c>.</summary>
    public int DailyBucketDays { get; set; } = 400;

    /// <summary>How long a resolved API key is trusted before it is looked up again: the bound on how long a revoked
    /// key keeps working on another API instance (the contract allows 30 s).</summary>
    public int KeyCacheSeconds { get; set; } = 10;

    /// <summary>How long an unknown key is remembered as unknown (no PostgreSQL lookup meanwhile).</summary>
    public int NegativeKeyCacheSeconds { get; set; } = 60;

    /// <summary>Failed authentications per client address per minute before that address is answered 429 (0 = no limit).</summary>
    public int FailedAuthPerMinute { get; set; } = 300;

    /// <summary>How long a call through the Orleans gateway may take before Orleans fails it (its message then expires in the
    /// silo's queues too). Above <see cref="IngestTimeoutMs"/> and <see cref="ReadTimeoutMs"/>, which end the requests' own
    /// waits sooner; this bounds what an abandoned call may still cost a silo.</summary>
    public int GrainCallTimeoutSeconds { get; set; } = 5;

    /// <summary>How long an ingest request waits for the cluster. The silo answers a little before (events of users whose grain
    /// has not answered get <c>retry</c>); past it every event is <c>retry</c> (503 outcome_unknown).</summary>
    public int IngestTimeoutMs { get; set; } = 1_600;

    /// <summary>How long a read waits for the cluster before it answers 503 <c>unavailable</c> with Retry-After.</summary>
    public int ReadTimeoutMs { get; set; } = 2_000;

    /// <summary>The most events this API instance lets in flight to the cluster; the bound in force adapts between
    /// <see cref="MinEventsInFlight"/> and this to keep answers within <see cref="IngestTargetLatencyMs"/>. More are
    /// refused at once (503 overloaded), before the body is read.</summary>
    public int MaxEventsInFlight { get; set; } = 100_000;

    /// <summary>The least the adaptive bound on events in flight falls to.</summary>
    public int MinEventsInFlight { get; set; } = 5_000;

    /// <summary>The answer time the in-flight bound aims for: slower answers cut it, faster ones let it grow.</summary>
    public int IngestTargetLatencyMs { get; set; } = 1_000;

    /// <summary>How often an API instance (an Orleans client) rereads the list of live gateways: how soon after a silo is
    /// declared dead the instance stops sending through it.</summary>
    public int GatewayRefreshSeconds { get; set; } = 5;

    /// <summary>How often this instance adds the usage it counted (GET /v1/usage) to PostgreSQL; counts of the last
    /// interval are lost if the process is killed (a graceful stop flushes them).</summary>
    public double UsageFlushSeconds { get; set; } = 2;

    /// <summary>How long this instance answers a leaderboard page it rendered from memory, without asking Redis for the
    /// board's version (0 = never). Pages may be this much older than their board; the contract allows about a second.</summary>
    public int LocalPageCacheMs { get; set; } = 200;

    /// <summary>Cluster to join as an Orleans client (must match the silos).</summary>
    /// <summary>Proxies (addresses, or CIDR ranges like 10.0.0.0/8) whose <c>X-Forwarded-For</c> names the client of a
    /// collected event; from anyone else the connection's address is the client's. Empty: no proxy is trusted.</summary>
    public string[] TrustedProxies { get; set; } = [];

    public string ClusterId { get; set; } = "tally";

    public string ServiceId { get; set; } = "tally";
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions o)
    {
        foreach (var proxy in o.TrustedProxies)
            if (!System.Net.IPNetwork.TryParse(proxy, out _) && !System.Net.IPAddress.TryParse(proxy, out _))
                return ValidateOptionsResult.Fail($"{ApiOptions.Section}:TrustedProxies: '{proxy}' is not an address or a CIDR range (10.0.0.0/8).");
        if (string.IsNullOrWhiteSpace(o.AdminKey) || o.AdminKey.Length < 16)
            return ValidateOptionsResult.Fail($"{ApiOptions.Section}:AdminKey is required and must be at least 16 characters.");
        if (o.MaxBodyBytes < 1024) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MaxBodyBytes must be at least 1024.");
        if (o.MaxRequestTargetBytes is < 1024 or > 64 * 1024) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MaxRequestTargetBytes must be 1024-65536.");
        if (o.MaxRequestHeadersBytes is < 4096 or > 64 * 1024) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MaxRequestHeadersBytes must be 4096-65536.");
        if (o.MaxEventsPerRequest is < 1 or > 100_000) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MaxEventsPerRequest must be 1-100000.");
        if (o.DailyBucketDays is < 7 or > 3660) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:DailyBucketDays must be 7-3660.");
        if (o.KeyCacheSeconds is < 0 or > 30) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:KeyCacheSeconds must be 0-30 (revocation must reach every instance within 30 s).");
        if (o.NegativeKeyCacheSeconds is < 0 or > 3600) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:NegativeKeyCacheSeconds must be 0-3600.");
        if (o.FailedAuthPerMinute < 0) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:FailedAuthPerMinute must be 0 or more.");
        if (o.GrainCallTimeoutSeconds is < 1 or > 300) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:GrainCallTimeoutSeconds must be 1-300.");
        if (o.UsageFlushSeconds is < 0.1 or > 300) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:UsageFlushSeconds must be 0.1-300.");
        if (o.LocalPageCacheMs is < 0 or > 1000) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:LocalPageCacheMs must be 0-1000 (boards reflect an event within about a second).");
        if (o.MaxEventsInFlight < 1) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MaxEventsInFlight must be at least 1.");
        if (o.MinEventsInFlight < 1) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:MinEventsInFlight must be at least 1.");
        if (o.IngestTimeoutMs is < 200 or > 60_000) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:IngestTimeoutMs must be 200-60000.");
        if (o.ReadTimeoutMs is < 100 or > 60_000) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:ReadTimeoutMs must be 100-60000.");
        if (o.IngestTargetLatencyMs is < 10 or > 60_000) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:IngestTargetLatencyMs must be 10-60000.");
        if (o.GatewayRefreshSeconds is < 1 or > 600) return ValidateOptionsResult.Fail($"{ApiOptions.Section}:GatewayRefreshSeconds must be 1-600.");
        if (o.GrainCallTimeoutSeconds * 1000 < Math.Max(o.IngestTimeoutMs, o.ReadTimeoutMs))
            return ValidateOptionsResult.Fail($"{ApiOptions.Section}:GrainCallTimeoutSeconds ({o.GrainCallTimeoutSeconds} s) must not be shorter than IngestTimeoutMs and ReadTimeoutMs: Orleans would fail calls the request still waits for.");
        return ValidateOptionsResult.Success;
    }
}
