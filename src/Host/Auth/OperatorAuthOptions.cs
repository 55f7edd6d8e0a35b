namespace Hive.Host.Auth;

/// <summary>The <c>Hive:Auth</c> configuration section (DESIGN.md, "Operator sign-in").</summary>
public sealed class OperatorAuthOptions
{
    public const string Section = "Hive:Auth";
    public const string TokenMode = "token";
    public const string NoneMode = "none";

    /// <summary><c>token</c> (default): the operator signs in; <c>none</c>: no sign-in, allowed only on loopback addresses.</summary>
    public string Mode { get; set; } = TokenMode;

    /// <summary>The operator's token; when empty the host reads or creates <c>&lt;DataDir&gt;/operator-token</c>.</summary>
    public string? Token { get; set; }

    public const int MinSessionDays = 1;
    public const int MaxSessionDays = 365;

    /// <summary>How long a browser stays signed in after opening the sign-in link (the cookie's lifetime, also checked by the host).</summary>
    public int SessionDays { get; set; } = 30;
}
