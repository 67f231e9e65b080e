; RxGate: additions to electron-builder's NSIS installer (docs/deployment.md).
;
; Mass install, silently and per machine, with the settings of the whole hospital:
;   RxGate-Setup-0.1.0.exe /S /CONFIG=\\fileserver\rxgate\config.json
; The config file is copied to %ProgramData%\RxGate\config.json, where the agent reads it
; (app/core/config.ts machineConfigPath). Without /CONFIG, a file named rxgate-config.json next
; to the installer is used, once, if no machine config exists yet. Other switches:
;   /NOAUTOSTART  do not start RxGate at every user's login (HKLM Run)
;   /PURGE        (uninstaller) also delete %ProgramData%\RxGate
; A /CONFIG file that does not exist fails the install with exit code 2, so a deployment tool
; reports the broken package instead of leaving PCs without their settings.

!include LogicLib.nsh
!include FileFunc.nsh

!macro customInstall
  SetShellVarContext all
  ; With the "all users" context $APPDATA is C:\ProgramData.
  StrCpy $R9 "$APPDATA\RxGate"
  CreateDirectory "$R9"
  ${GetParameters} $R0

  ClearErrors
  ${GetOptions} $R0 "/CONFIG=" $R1
  ${IfNot} ${Errors}
    ${If} ${FileExists} "$R1"
      CopyFiles /SILENT "$R1" "$R9\config.json"
      DetailPrint "RxGate: 配置文件已写入 $R9\config.json"
    ${Else}
      DetailPrint "RxGate: 找不到 /CONFIG 指定的配置文件: $R1"
      SetErrorLevel 2
      Abort "找不到配置文件 / config file not found: $R1"
    ${EndIf}
  ${ElseIf} ${FileExists} "$EXEDIR\rxgate-config.json"
    ${IfNot} ${FileExists} "$R9\config.json"
      CopyFiles /SILENT "$EXEDIR\rxgate-config.json" "$R9\config.json"
      DetailPrint "RxGate: 配置文件已写入 $R9\config.json"
    ${EndIf}
  ${EndIf}

  ; Administrators and SYSTEM may change the settings; users (the agent runs as the logged-on
  ; user) may only read them, so a user cannot point their PC at another rule server.
  nsExec::ExecToLog 'icacls "$R9" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX'
  Pop $R2

  ClearErrors
  ${GetOptions} $R0 "/NOAUTOSTART" $R3
  ${If} ${Errors}
    ; Every user of the PC gets RxGate in the tray at login. The marker tells the app that IT
    ; manages this, so it does not add a per-user entry of its own.
    WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "RxGate" '"$INSTDIR\${APP_EXECUTABLE_FILENAME}" --hidden'
    FileOpen $R4 "$INSTDIR\resources\machine-autostart" w
    FileWrite $R4 "HKLM Run"
    FileClose $R4
  ${Else}
    DeleteRegValue HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "RxGate"
    Delete "$INSTDIR\resources\machine-autostart"
  ${EndIf}
!macroend

!macro customUnInstall
  DeleteRegValue HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "RxGate"
  ; The machine config survives an uninstall (and every upgrade, which uninstalls the old
  ; version first) unless IT asks for a clean removal.
  ${un.GetParameters} $R0
  ClearErrors
  ${un.GetOptions} $R0 "/PURGE" $R1
  ${IfNot} ${Errors}
    SetShellVarContext all
    RMDir /r "$APPDATA\RxGate"
  ${EndIf}
!macroend
