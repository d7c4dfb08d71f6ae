namespace Tally.Contracts;

/// <summary>Grain key of a user: <c>{tenant}/{user}</c>. Tenant ids never contain '/', so the first '/' splits.</summary>
public static class UserKey
{
    public static string Format(string tenantId, string userId) => string.Concat(tenantId, "/", userId);

    public static (string TenantId, string UserId) Parse(string key)
    {
        var slash = key.IndexOf('/');
        if (slash <= 0) throw new ArgumentException($"'{key}' is not a tenant/user key.", nameof(key));
        return (key[..slash], key[(slash + 1)..]);
    }
}
