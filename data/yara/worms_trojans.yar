/* kansoku: worms (copy themselves to other machines) and trojans (spy on the one they are on). */

rule share_spreading_worm : worm
{
    meta:
        description = "Executable that enumerates and writes to Windows administrative shares"
        author = "kansoku"
    strings:
        $s1 = "\\ADMIN$" ascii wide nocase
        $s2 = "\\C$" ascii wide nocase
        $s3 = "\\IPC$" ascii wide nocase
        $a1 = "NetShareEnum" ascii
        $a2 = "WNetAddConnection2A" ascii
        $a3 = "WNetAddConnection2W" ascii
        $a4 = "NetScheduleJobAdd" ascii
    condition:
        uint16(0) == 0x5A4D and 2 of ($s*) and 2 of ($a*)
}

rule autorun_worm : worm
{
    meta:
        description = "Executable that writes an autorun.inf to spread over removable drives"
        author = "kansoku"
    strings:
        $inf = "autorun.inf" ascii wide nocase
        $sec = "[autorun]" ascii wide nocase
        $open1 = "shellexecute=" ascii wide nocase
        $open2 = "open=" ascii wide nocase
        $drive = "GetDriveTypeA" ascii
    condition:
        uint16(0) == 0x5A4D and $inf and $sec and any of ($open*) and $drive
}

rule keylogger_trojan : trojan
{
    meta:
        description = "Executable that hooks or polls the keyboard and reads window titles"
        author = "kansoku"
    strings:
        $k1 = "SetWindowsHookExA" ascii
        $k2 = "SetWindowsHookExW" ascii
        $k3 = "GetAsyncKeyState" ascii
        $t1 = "GetForegroundWindow" ascii
        $t2 = "GetWindowTextA" ascii
        $t3 = "GetWindowTextW" ascii
    condition:
        uint16(0) == 0x5A4D and any of ($k*) and 2 of ($t*)
}
