/* kansoku: bots. An IRC bot logs in to a channel of its C&C server and waits for commands;
 * the protocol words and a command vocabulary inside one executable give it away. */

rule irc_bot : bot
{
    meta:
        description = "IRC client protocol verbs together with remote-command words"
        author = "kansoku"
    strings:
        $irc1 = "PRIVMSG " ascii nocase
        $irc2 = "JOIN #" ascii nocase
        $irc3 = "NICK " ascii
        $irc4 = "USER " ascii
        $irc5 = "PING :" ascii
        $cmd1 = "ddos" ascii nocase
        $cmd2 = "syn flood" ascii nocase
        $cmd3 = "udpflood" ascii nocase
        $cmd4 = "scan" ascii nocase
        $cmd5 = "download" ascii nocase
        $cmd6 = "update" ascii nocase
        /* C&C: host:port on the IRC ports. */
        $cnc_irc = /[a-zA-Z0-9][a-zA-Z0-9.\-]{1,62}\.[a-zA-Z]{2,12}:(6660|6661|6662|6663|6664|6665|6666|6667|6668|6669|7000)/ ascii
    condition:
        (uint16(0) == 0x5A4D or uint32(0) == 0x464C457F) and 3 of ($irc*) and 2 of ($cmd*) and
        #cnc_irc >= 0
}
