using System.Text.Json.Serialization;

namespace Tally.Api.Models;

/// <summary>One tenant's metering for a month (GET /v1/usage); <c>amount</c> and <c>currency</c> when the tenant has <c>billing</c>.</summary>
public sealed record UsageResponse(
    string Tenant,
    string Month,
    long EventsAccepted,
    long EventsDuplicate,
    long EventsRejected,
    Dictionary<string, long> RejectedByCode,
    long ActiveUsers,
    UsageDay[] Days,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? Amount = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Currency = null);

/// <summary><c>GET /v1/usage?by=site</c>: each site's accepted events in the month, when it was first seen, and its amount.</summary>
public sealed record SiteUsageResponse(string Tenant, string Month, SiteUsage[] Sites);

public sealed record SiteUsage(
    string SiteId,
    string FirstSeen,
    long EventsAccepted,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? Amount);

/// <summary><c>GET /v1/quality?day=</c>: how complete the raw events received that day were, and what was rejected.</summary>
public sealed record QualityResponse(string Day, long Received, long MissingSessionId, long MissingVisitorId, long MissingUrl, Dictionary<string, long> RejectedByCode);

/// <summary>One arrival day of a month (tenant time zone).</summary>
public sealed record UsageDay(string Day, long EventsAccepted, long EventsDuplicate, long EventsRejected);

/// <summary>Every tenant's metering for a month (GET /v1/usage with the cluster admin key).</summary>
public sealed record UsageListResponse(string Month, UsageResponse[] Tenants);
