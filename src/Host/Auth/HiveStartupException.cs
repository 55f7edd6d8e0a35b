namespace Hive.Host.Auth;

/// <summary>A sign-in configuration the host refuses; the shared <see cref="Hive.Shared.Errors.HiveStartupException"/> with the auth code's name.</summary>
public sealed class HiveStartupException(string message) : Hive.Shared.Errors.HiveStartupException(message);
